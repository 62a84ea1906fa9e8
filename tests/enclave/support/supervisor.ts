import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The `ready` line the supervisor logs. */
export interface ReadyLine {
  ingress: string;
  app: string;
  config: string;
  pcr16: string;
  instance: string;
}

/** A supervisor process started by a test. */
export interface SupervisorProcess {
  child: ChildProcess;
  /** Every JSON line it (and its app) logged so far. */
  lines: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the ready line; rejects if the process exits first. */
  ready: Promise<ReadyLine>;
  /** Resolves once a line with this event (and matching fields) is logged. */
  waitFor(event: string, match?: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM if still running, SIGKILL if that takes more than a few seconds (afterAll safety net). */
  stop(): Promise<void>;
}

/** Runs `node <build>/enclave/main.js <args>` (serving the example apps unless `args` name an app) and follows its JSON log lines. */
export function startSupervisor(buildDir: string, args: string[], env: NodeJS.ProcessEnv = process.env): SupervisorProcess {
  const namesApp = args.includes('--app-module') || args.includes('--') || env.CLOISTER_APP_MODULE !== undefined;
  const appArgs = namesApp ? [] : ['--app-module', join(buildDir, 'examples', 'index.js')];
  const child = spawn(process.execPath, [join(buildDir, 'enclave', 'main.js'), ...appArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  const notify = () => [...listeners].forEach((listener) => listener());
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ event: 'non-json', text: line });
    }
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      notify();
    }),
  );

  const waitFor: SupervisorProcess['waitFor'] = (event, match = () => true, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      const settle = (outcome: () => void) => {
        listeners.delete(check);
        clearTimeout(timer);
        outcome();
      };
      const check = () => {
        const found = lines.find((l) => l.event === event && match(l));
        if (found) settle(() => resolve(found));
        else if (child.exitCode !== null || child.signalCode !== null) {
          settle(() => reject(new Error(`supervisor exited (${child.exitCode ?? child.signalCode}) before logging ${event}: ${stderr}`)));
        }
      };
      const timer = setTimeout(() => settle(() => reject(new Error(`no ${event} line within ${timeoutMs} ms; stderr: ${stderr}`))), timeoutMs);
      listeners.add(check);
      check();
    });

  const ready = waitFor('ready') as Promise<unknown> as Promise<ReadyLine>;
  // Tests that expect a refusal never await it; those that do still see the rejection.
  ready.catch(() => {});
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    ready,
    waitFor,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
