import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PARENT_CID, VSOCK_PORTS, vsockAddress } from '../contract/vsock';

/** How long the parent processes get after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** Where the supervisor writes its own lines and its processes' output. */
export interface ProcessOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * The directory holding the parent-side programs (`bridge/main.js`, `egress-relay/main.js`,
 * `config-push/main.js`, `log-sink/main.js`): this built parent/, or `CLOISTER_PARENT_DIR`.
 */
export function parentDir(): string {
  return process.env.CLOISTER_PARENT_DIR || resolve(__dirname);
}

/** One parent-side process `cloister run` starts: its name, script and arguments. */
export interface ParentProcess {
  name: 'log-sink' | 'bridge' | 'egress-relay' | 'config-push';
  script: string;
  args: string[];
}

/**
 * The four parent processes for an enclave at `cid`, as documented in deploy/README.md. The log
 * sink comes first: the enclave is already running and sending its lines (it buffers them, within
 * its bound, until the sink listens).
 */
export function parentProcesses(settings: { config: string; port: number }, cid: number, dir = parentDir()): ParentProcess[] {
  return [
    {
      name: 'log-sink',
      script: join(dir, 'log-sink', 'main.js'),
      args: ['--listen', vsockAddress(PARENT_CID, VSOCK_PORTS.logs)],
    },
    {
      name: 'bridge',
      script: join(dir, 'bridge', 'main.js'),
      args: ['--listen', `tcp://0.0.0.0:${settings.port}`, '--target', vsockAddress(cid, VSOCK_PORTS.ingress)],
    },
    {
      name: 'egress-relay',
      script: join(dir, 'egress-relay', 'main.js'),
      args: ['--listen', vsockAddress(PARENT_CID, VSOCK_PORTS.egress), '--config', settings.config],
    },
    {
      name: 'config-push',
      script: join(dir, 'config-push', 'main.js'),
      args: ['--target', vsockAddress(cid, VSOCK_PORTS.config), '--config', settings.config],
    },
  ];
}

/**
 * Starts every process and resolves once all have exited: 0 when stopped by SIGINT/SIGTERM, 1 when
 * one of them stopped by itself (the others are then stopped too). Each runs in its own process
 * group, so a terminal's Ctrl-C reaches this command first and it stops them in order.
 */
export function supervise(processes: ParentProcess[], io: ProcessOutput): Promise<number> {
  return new Promise((done) => {
    const running = new Map<ParentProcess['name'], ChildProcess>();
    let stopping = false;
    let status = 0;
    let killTimer: NodeJS.Timeout | undefined;

    const onSignal = (signal: NodeJS.Signals) => stopAll(`received ${signal}`, 0);
    const stopAll = (reason: string, code: number) => {
      if (stopping) return;
      stopping = true;
      status = code;
      io.stderr(`cloister run: ${reason}; stopping ${[...running.keys()].join(', ') || 'nothing'}\n`);
      for (const child of running.values()) child.kill('SIGTERM');
      killTimer = setTimeout(() => {
        for (const [name, child] of running) {
          io.stderr(`cloister run: ${name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it\n`);
          child.kill('SIGKILL');
        }
      }, STOP_GRACE_MS);
      killTimer.unref();
      finishIfDone();
    };
    const finishIfDone = () => {
      if (!stopping || running.size > 0) return;
      if (killTimer) clearTimeout(killTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      done(status);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    for (const p of processes) {
      const child = spawn(process.execPath, [p.script, ...p.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      running.set(p.name, child);
      forwardLines(child.stdout!, p.name, io.stdout);
      forwardLines(child.stderr!, p.name, io.stderr);
      let gone = false;
      const ended = (why: string) => {
        if (gone) return;
        gone = true;
        running.delete(p.name);
        if (stopping) io.stderr(`cloister run: ${p.name} stopped (${why})\n`);
        else stopAll(`${p.name} stopped by itself (${why})`, 1);
        finishIfDone();
      };
      child.once('error', (e) => ended(`could not run: ${e.message}`));
      child.once('exit', (code, signal) => ended(signal ? `signal ${signal}` : `exit ${code}`));
      io.stdout(`started ${p.name.padEnd(12)} node ${p.script} ${p.args.join(' ')}\n`);
    }
  });
}

/** Passes a child's output on line by line, each line prefixed with its name. */
function forwardLines(stream: NodeJS.ReadableStream, name: string, write: (text: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) write(`[${name}] ${line}\n`);
  });
  stream.on('end', () => {
    if (pending) write(`[${name}] ${pending}\n`);
  });
}
