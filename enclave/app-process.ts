import { type ChildProcess, fork } from 'node:child_process';
import { extname, join } from 'node:path';
import type { Logger } from '../contract/log';
import { type Address, formatAddress } from '../transport/address';
import { type FromAppChild, type ToAppChild, isFromAppChild } from './app-protocol';
import { Backoff } from './backoff';
import { SupervisorError } from './errors';

/** How the app process is run. */
export interface AppProcessOptions {
  /** The measured configuration document, handed to the app over IPC. */
  config: unknown;
  /** Where the app listens (prepared by `prepareAppEndpoint`). */
  address: Address;
  log: Logger;
  /** Variables added to the app's environment (egress proxy settings, secrets); never logged. */
  env?: Record<string, string>;
}

/** A child not ready within this time is killed (and, after boot, replaced). */
const READY_TIMEOUT_MS = 30_000;
/** How long a child asked to stop may take before it is killed. */
const STOP_GRACE_MS = 3_000;

// The child runs from the same build as this file (.js in dist, .ts under a TypeScript loader).
const CHILD_ENTRY = join(__dirname, `app-child${extname(__filename)}`);

/**
 * The app as a child process of the supervisor. `ready` is true only while a child has said it
 * listens and has not exited, which is what the ingress asks before forwarding (503 otherwise).
 * A child that exits is replaced after an exponential backoff; a port chosen by the first child
 * (`tcp://127.0.0.1:0`) is kept for its successors, since the ingress knows only one address.
 */
export class AppProcess {
  private readonly backoff = new Backoff();
  private child: ChildProcess | undefined;
  private listening = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private current: Address;

  constructor(private readonly options: AppProcessOptions) {
    this.current = options.address;
  }

  /** Whether the app accepts connections now. */
  get ready(): boolean {
    return this.listening;
  }

  /** Where the app listens (with the actual port once the first child is ready). */
  get address(): Address {
    return this.current;
  }

  /**
   * Starts the first child and resolves once it listens. If it fails instead, boot fails: a
   * broken app or a taken address is reported, not retried forever.
   */
  start(): Promise<Address> {
    return new Promise((resolve, reject) => {
      this.spawn((outcome) => {
        if (outcome.ok) resolve(this.current);
        else reject(new SupervisorError('APP_START_FAILED', `The app did not start: ${outcome.reason}.`));
      });
    });
  }

  /** Stops the current child (SIGTERM, then SIGKILL after the grace period) and restarts no more. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Forks a child; `settled` hears once whether it became ready or ended first. */
  private spawn(settled?: (outcome: { ok: true } | { ok: false; reason: string }) => void): void {
    const startedAt = Date.now();
    let failure: string | undefined;
    const child = fork(CHILD_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...this.options.env } });
    this.child = child;
    const readyTimer = setTimeout(() => {
      failure = `not ready within ${READY_TIMEOUT_MS} ms`;
      child.kill('SIGKILL');
    }, READY_TIMEOUT_MS);

    child.on('message', (message: unknown) => {
      if (!isFromAppChild(message)) return;
      this.onMessage(message, child, startedAt);
      if (message.type === 'ready') {
        clearTimeout(readyTimer);
        settled?.({ ok: true });
        settled = undefined;
      } else {
        failure = message.message;
      }
    });
    child.on('error', (e) => {
      failure ??= e.message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(readyTimer);
      if (this.child === child) {
        this.child = undefined;
        this.listening = false;
      }
      const reason = failure ?? (signal ? `killed by ${signal}` : `exit status ${code}`);
      if (settled) {
        settled({ ok: false, reason });
        return;
      }
      if (this.stopping) return;
      const delayMs = this.backoff.delayAfter(Date.now() - startedAt);
      this.options.log({ level: 'warn', event: 'app.exited', pid: child.pid, reason, restartInMs: delayMs });
      this.restartTimer = setTimeout(() => this.spawn(), delayMs);
    });
    const start: ToAppChild = { type: 'start', config: this.options.config, listen: this.current };
    child.send(start);
  }

  private onMessage(message: FromAppChild, child: ChildProcess, startedAt: number): void {
    if (message.type === 'ready' && this.child === child && !this.stopping) {
      this.current = message.address;
      this.listening = true;
      this.options.log({ level: 'info', event: 'app.ready', pid: child.pid, address: formatAddress(message.address), ms: Date.now() - startedAt });
    } else if (message.type === 'failed') {
      this.options.log({ level: 'error', event: 'app.failed', pid: child.pid, reason: message.message });
    }
  }
}
