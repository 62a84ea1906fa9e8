/**
 * One party of a 32-bit garbled-circuit comparison with jigg, in its own process (jigg keeps
 * protocol state in its modules, so every run gets fresh processes): `garble <a>` serves jigg's
 * relay on 127.0.0.1 with the garbler wired into it and prints `{port}`, then `{output}`; `evaluate
 * <port> <b>` joins as the evaluator and prints `{output, ms}`, the time from its connection to the
 * answer (a < b as 1 or 0). Run by jigg-comparison.ts.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Server } from 'jigg';

const circuit = readFileSync(require.resolve('jigg/circuits/bristol/compare-lt-32-bit-unsigned-old.txt'), 'utf8');
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

function garble(input: number): void {
  const httpServer = http.createServer();
  const relay = new Server(httpServer);
  httpServer.listen(0, '127.0.0.1', () => {
    const garbler = relay.makeAgent('Garbler');
    garbler.loadCircuit(circuit);
    garbler.setInput(input, 'number');
    void garbler.getOutput('number').then((output) => {
      say({ output: Number(output) });
      process.exit(0);
    });
    garbler.start();
    say({ port: (httpServer.address() as AddressInfo).port });
  });
}

function evaluate(port: number, input: number): void {
  const evaluator = new Client('Evaluator', `http://127.0.0.1:${port}`);
  evaluator.loadCircuit(circuit);
  evaluator.setInput(input, 'number');
  let connected = 0;
  evaluator.addProgressListener((status) => {
    if (status === 'connected') connected = performance.now();
  });
  void evaluator.getOutput('number').then((output) => {
    say({ output: Number(output), ms: performance.now() - connected });
    process.exit(0);
  });
  evaluator.start();
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'garble') garble(Number(args[0]));
else if (mode === 'evaluate') evaluate(Number(args[0]), Number(args[1]));
else throw new Error('usage: jigg-party.js garble <a> | evaluate <port> <b>');
