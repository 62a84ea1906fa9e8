import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { LogEntry } from '../../contract/log';
import { type LogSink, startLogSink } from '../../parent/log-sink';
import { parseLogSinkArgs } from '../../parent/log-sink/main';
import { waitFor } from '../helpers/network-harness';

let dir: string;
let sink: LogSink;
let output: string;
let own: LogEntry[];
const sockets: Socket[] = [];

async function start(options: { maxLineBytes?: number; maxConnections?: number; output?: Writable } = {}): Promise<void> {
  const stream = new PassThrough();
  output = '';
  own = [];
  stream.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  sink = await startLogSink({ listen: { kind: 'unix', path: join(dir, 'logs.sock') }, output: stream, log: (e) => own.push(e), ...options });
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(join(dir, 'logs.sock'), () => resolve(socket)).once('error', reject);
    socket.on('error', () => {});
    sockets.push(socket);
  });
}

const outputLines = () => output.split('\n').filter((l) => l !== '');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-log-sink-'));
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the parent log sink', () => {
  it('writes each JSON line as it came, and wraps any other line, so its output is one JSON object per line', async () => {
    await start();
    const socket = await open();
    socket.write('{"level":"info","event":"ready"}\n');
    socket.write('plain text\r\n\n[1,2]\n{"broken":\n');
    socket.write('{"level":"warn","event":"la');
    socket.end('st"}');
    await waitFor(() => outputLines().length === 5, 'five lines');
    const lines = outputLines();
    expect(lines[0]).toBe('{"level":"info","event":"ready"}');
    expect(lines.slice(1, 4).map((l) => JSON.parse(l))).toEqual(
      ['plain text', '[1,2]', '{"broken":'].map((line) => ({ level: 'warn', time: expect.any(String), event: 'log_sink.not_json', line })),
    );
    expect(JSON.parse(lines[4]!)).toEqual({ level: 'warn', event: 'last' });
  });

  it('drops a line longer than its limit, saying how long it was, and goes on with the next', async () => {
    await start({ maxLineBytes: 100 });
    const socket = await open();
    socket.write(`{"event":"${'x'.repeat(500)}`);
    socket.write(`${'y'.repeat(500)}"}\n{"event":"after"}\n`);
    socket.write(`{"event":"${'z'.repeat(88)}"}\n`);
    await waitFor(() => outputLines().length === 3, 'three lines');
    const [dropped, after, fits] = outputLines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(dropped).toMatchObject({ level: 'warn', event: 'log_sink.line_dropped', reason: 'too_long', bytes: 1012, limit: 100 });
    expect(after).toEqual({ event: 'after' });
    expect(fits).toEqual({ event: 'z'.repeat(88) });
  });

  it('serves at most its limit of connections, refusing (and logging) the rest, and keeps serving those it took', async () => {
    await start({ maxConnections: 4 });
    const all = await Promise.all(Array.from({ length: 12 }, () => open()));
    const closed = new Set<Socket>();
    for (const socket of all) socket.once('close', () => closed.add(socket));
    await waitFor(() => closed.size === 8, 'eight connections refused');
    expect(own.filter((e) => e.event === 'log_sink.refused')).toHaveLength(8);
    const served = all.filter((s) => !closed.has(s));
    served.forEach((socket, i) => socket.write(`{"from":${i}}\n`));
    await waitFor(() => outputLines().length === 4, 'a line from each served connection');
    expect(outputLines().sort()).toEqual(['{"from":0}', '{"from":1}', '{"from":2}', '{"from":3}']);

    // A connection that ends frees its place.
    served[0]!.end();
    await waitFor(() => served[0]!.closed, 'the first connection closed');
    const later = await open();
    later.write('{"from":"later"}\n');
    await waitFor(() => output.includes('"later"'), 'a line from a later connection');
  });

  it('stops reading while its output is full, and goes on once it drains, losing nothing', async () => {
    const held: (() => void)[] = [];
    let passed = 0;
    const slow = new Writable({ highWaterMark: 1, write: (_chunk, _encoding, callback) => void held.push(callback) });
    const write = slow.write.bind(slow);
    // Lines passed on, however they are grouped into writes.
    slow.write = ((chunk: string) => {
      passed += chunk.split('\n').length - 1;
      return write(chunk);
    }) as typeof slow.write;
    await start({ output: slow });
    const socket = await open();
    const lines = 20_000;
    const text = Array.from({ length: lines }, (_, i) => `{"i":${i},"pad":"${'p'.repeat(100)}"}\n`).join('');
    socket.write(text);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Only what arrived in the chunk being read when the output filled up was passed on.
    expect(passed).toBeLessThan(lines / 4);
    const deadline = Date.now() + 10_000;
    while (passed < lines && Date.now() < deadline) {
      held.splice(0).forEach((callback) => callback());
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(passed).toBe(lines);
  });

  it('reads its flags: --listen, --max-connections, --max-line-bytes', () => {
    expect(parseLogSinkArgs(['--listen', 'vsock://3:5003', '--max-connections', '2', '--max-line-bytes=1000'])).toEqual({
      listen: { kind: 'vsock', cid: 3, port: 5003 },
      maxConnections: 2,
      maxLineBytes: 1000,
    });
    expect(() => parseLogSinkArgs([])).toThrow(/--listen is required/);
    expect(() => parseLogSinkArgs(['--listen', 'unix:///x', '--max-line-bytes', '0'])).toThrow(/--max-line-bytes must be a whole number/);
  });
});
