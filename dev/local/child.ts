import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Most of a child's standard error kept for the report when it fails. */
const STDERR_TAIL_CHARS = 4_000;
/** How long a child asked to stop may take before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

/** A Node.js process of the local stack. */
export interface StackChild {
  name: string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The end of what it wrote to standard error, for a report. */
  stderrTail(): string;
  /** Whether it logged a JSON line with this `event` (its way of saying it is listening). */
  logged(event: string): boolean;
  /** SIGTERM, SIGKILL after a timeout; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Runs `node <nodeOptions> <script> <args>` with an IPC channel, so that a child watching it (the
 * supervisor, or any child preloaded with exit-with-parent) stops when this process disappears.
 * Its standard output (JSON log lines) and error go to ours when `showLogs`; the events it logs
 * and the end of its standard error are kept either way.
 */
export function startChild(name: string, script: string, args: string[], showLogs: boolean, nodeOptions: string[] = []): StackChild {
  const child = spawn(process.execPath, [...nodeOptions, script, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const events = new Set<string>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (showLogs) process.stdout.write(`${line}\n`);
    try {
      const { event } = JSON.parse(line) as { event?: unknown };
      if (typeof event === 'string') events.add(event);
    } catch {
      // Not a log line: shown, not interpreted.
    }
  });
  let tail = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (showLogs) process.stderr.write(chunk);
    tail = (tail + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': only once its output is read to the end, so the last lines it wrote (the
    // log sink's, stopped last) are shown before the stack reports itself stopped.
    child.once('close', (code, signal) => resolve({ code, signal }));
    // Only a process that never started ends with 'error' and no 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  return {
    name,
    exited,
    stderrTail: () => tail.trim(),
    logged: (event) => events.has(event),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
