import { type ChildProcess, fork, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { extname, join } from 'node:path';
import { APP_CONFIG_ENV, LISTEN_ENV } from '../contract/app-host';
import type { Logger } from '../contract/log';
import { RESULTS_KEY_ENV, type ResultsKeyMaterial } from '../contract/signed-result';
import { type Address, formatAddress } from '../transport/address';
import { openConnection } from '../transport/connect';
import { freePort } from '../transport/free-port';
import { APP_LOG_FD, type FromAppChild, type ToAppChild, isFromAppChild } from './app-protocol';
import { Backoff } from './backoff';
import { followAppOutput } from './logs/app-output';
import { SecretRedactor } from './logs/secret-redactor';
import { SupervisorError } from './errors';
import { credentialValues, withoutCredentials } from './supervisor-credentials';
import { type HostedApp, describeHostedApp } from './hosted-app';

/** How the app process is run. */
export interface AppProcessOptions {
  /** Which app: a module the module host loads, or a command. */
  app: HostedApp;
  /** The measured configuration document: a module's host gets it whole over IPC, a command its `apps` block. */
  config: unknown;
  /** Where the app listens (prepared by `prepareAppEndpoint`). */
  address: Address;
  log: Logger;
  /** Values replaced by `[REDACTED]` in all the text that comes from the app (output, IPC): its secrets. */
  secrets?: readonly string[];
  /**
   * Variables added to the app's environment (egress proxy settings, secrets); never logged. The
   * rest is the supervisor's own environment without its AWS credentials.
   */
  env?: Record<string, string>;
  /** The results key the app signs its results with: over IPC to a module, in `CLOISTER_RESULTS_KEY` to a command. */
  results: ResultsKeyMaterial;
}

/** A child not ready within this time is killed (and, after boot, replaced). */
const READY_TIMEOUT_MS = 30_000;
/** How long a child asked to stop may take before it is killed. */
const STOP_GRACE_MS = 3_000;

/** How often a command's address is tried until it accepts a connection. */
const COMMAND_POLL_MS = 50;

// The module host runs from the same build as this file (.js in dist, .ts under a TypeScript loader).
const MODULE_HOST = join(__dirname, `module-host${extname(__filename)}`);

/**
 * The app as a child process of the supervisor. `ready` is true only while a child has said it
 * listens and has not exited, which is what the ingress asks before forwarding (503 otherwise).
 * A child that exits is replaced after an exponential backoff; a port chosen by the first child
 * (`tcp://127.0.0.1:0`) is kept for its successors, since the ingress knows only one address.
 * A module is run by the module host, which says over IPC when it listens; a command is ready
 * once its address accepts a connection.
 */
export class AppProcess {
  private readonly backoff = new Backoff();
  private child: ChildProcess | undefined;
  private listening = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private current: Address;

  /** What takes the app's secrets, and the supervisor's credentials, out of all the text that comes from the app. */
  private readonly redactor: SecretRedactor;

  constructor(private readonly options: AppProcessOptions) {
    this.current = options.address;
    this.redactor = new SecretRedactor([...(options.secrets ?? []), ...credentialValues(process.env)]);
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
  async start(): Promise<Address> {
    // A module host reports the port it was given; a command is handed a fixed one to listen on.
    if (this.options.app.kind === 'command' && this.current.kind === 'tcp' && this.current.port === 0) {
      this.current = { ...this.current, port: await freePort(this.current.host) };
    }
    return new Promise((resolve, reject) => {
      this.spawn((outcome) => {
        if (outcome.ok) resolve(this.current);
        else if (outcome.configRefused) reject(new SupervisorError('APP_CONFIG_INVALID', outcome.reason));
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
    this.signal(child, 'SIGTERM');
    const timer = setTimeout(() => this.signal(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Starts a child; `settled` hears once whether it became ready or ended first. */
  private spawn(settled?: (outcome: { ok: true } | { ok: false; reason: string; configRefused: boolean }) => void): void {
    const startedAt = Date.now();
    let failure: string | undefined;
    let configRefused = false;
    const child = this.options.app.kind === 'module' ? this.forkModuleHost(this.options.app.path) : this.spawnCommand(this.options.app.argv);
    this.child = child;
    // The app's output leaves the enclave only as log lines, with its secrets taken out.
    followAppOutput(child.stdout!, { stream: 'stdout', log: this.options.log, secrets: this.redactor });
    followAppOutput(child.stderr!, { stream: 'stderr', log: this.options.log, secrets: this.redactor });
    if (this.options.app.kind === 'module') {
      followAppOutput(child.stdio[APP_LOG_FD] as Readable, { stream: 'log', log: this.options.log, secrets: this.redactor });
    }
    const readyTimer = setTimeout(() => {
      failure = `not ready within ${READY_TIMEOUT_MS} ms`;
      this.signal(child, 'SIGKILL');
    }, READY_TIMEOUT_MS);
    const onReady = (message: FromAppChild) => {
      this.onMessage(message, child, startedAt);
      if (message.type === 'ready') {
        clearTimeout(readyTimer);
        settled?.({ ok: true });
        settled = undefined;
      } else {
        failure = message.message;
        configRefused = message.code === 'INVALID_CONFIG';
      }
    };

    if (this.options.app.kind === 'module') {
      child.on('message', (message: unknown) => {
        if (isFromAppChild(message)) onReady(this.redacted(message));
      });
    } else {
      void this.pollUntilListening(child).then((listening) => listening && onReady({ type: 'ready', address: this.current }));
    }
    child.on('error', (e) => {
      failure ??= e.message;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(readyTimer);
      // What a command started may outlive it and hold the app's address; its group goes with it.
      if (this.options.app.kind === 'command') this.signal(child, 'SIGKILL');
      if (this.child === child) {
        this.child = undefined;
        this.listening = false;
      }
      const reason = failure ?? (signal ? `killed by ${signal}` : `exit status ${code}`);
      if (settled) {
        settled({ ok: false, reason, configRefused });
        return;
      }
      if (this.stopping) return;
      const delayMs = this.backoff.delayAfter(Date.now() - startedAt);
      this.options.log({ level: 'warn', event: 'app.exited', pid: child.pid, reason, restartInMs: delayMs });
      this.restartTimer = setTimeout(() => this.spawn(), delayMs);
    });
  }

  private forkModuleHost(path: string): ChildProcess {
    // The pipe at APP_LOG_FD carries the app's own log entries; IPC comes after it.
    const child = fork(MODULE_HOST, [], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ipc'], env: { ...withoutCredentials(process.env), ...this.options.env } });
    const start: ToAppChild = { type: 'start', module: path, config: this.options.config, listen: this.current, results: this.options.results };
    child.send(start);
    return child;
  }

  private spawnCommand(argv: readonly string[]): ChildProcess {
    const [file, ...args] = argv as [string, ...string[]];
    // A socket left by a previous command that died would make its listen fail with EADDRINUSE.
    if (this.current.kind === 'unix') rmSync(this.current.path, { force: true });
    const block = (this.options.config as { apps?: unknown }).apps ?? {};
    const env = {
      ...withoutCredentials(process.env),
      ...this.options.env,
      [LISTEN_ENV]: formatAddress(this.current),
      [APP_CONFIG_ENV]: JSON.stringify(block),
      [RESULTS_KEY_ENV]: JSON.stringify(this.options.results),
    };
    // Its own process group, so that the signals the supervisor sends reach a shell's children too.
    return spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
  }

  /** Tries the command's address until it accepts a connection; false if the child exits first. */
  private async pollUntilListening(child: ChildProcess): Promise<boolean> {
    while (child.exitCode === null && child.signalCode === null && this.child === child) {
      try {
        const socket = await openConnection(this.current, { timeoutMs: 1_000 });
        socket.destroy();
        return this.child === child;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, COMMAND_POLL_MS));
      }
    }
    return false;
  }

  /** A command runs in its own process group, which is signalled whole (a shell and what it started). */
  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    if (this.options.app.kind === 'module' || child.pid === undefined) {
      child.kill(signal);
      return;
    }
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  }

  /**
   * The message with the app's secrets taken out of its text: the app's own error message (a
   * connection string, say) is logged, becomes the boot error and is printed on the supervisor's
   * standard error.
   */
  private redacted(message: FromAppChild): FromAppChild {
    return message.type === 'failed' ? { ...message, message: this.redactor.redact(message.message) } : message;
  }

  private onMessage(message: FromAppChild, child: ChildProcess, startedAt: number): void {
    if (message.type === 'ready' && this.child === child && !this.stopping) {
      this.current = message.address;
      this.listening = true;
      this.options.log({
        level: 'info',
        event: 'app.ready',
        pid: child.pid,
        app: describeHostedApp(this.options.app),
        // Text the child sent, like any other: it passes the redactor too.
        address: this.redactor.redact(formatAddress(message.address)),
        ms: Date.now() - startedAt,
      });
    } else if (message.type === 'failed') {
      this.options.log({ level: 'error', event: 'app.failed', pid: child.pid, reason: message.message });
    }
  }
}
