import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Address, parseAddress } from '../../transport/address';
import { type StackChild, startChild } from './child';
import { LocalStackError } from './errors';
import type { DevelopmentPcrs } from './measurements';
import type { HostedApp } from '../../enclave/hosted-app';

/** What the local stack runs. */
export interface LocalStackOptions {
  /** Root of the built code (dist/), holding enclave/main.js and parent/bridge/main.js. */
  codeDir: string;
  /** The app the supervisor serves. */
  app: HostedApp;
  /** The runtime configuration file. */
  configPath: string;
  /** The development NSM's directory (its root persists there). */
  devDir: string;
  /** Development boot measurements. */
  pcrs: DevelopmentPcrs;
  /** Directory for the ingress socket and the ready file; created private. */
  runDir: string;
  /** The bridge's TCP port on 127.0.0.1. */
  port: number;
  /** Whether the processes' logs go to this process's stdout and stderr. */
  showLogs: boolean;
}

/** The running local stack. */
export interface LocalStack {
  /** `https://127.0.0.1:<port>`, the bridge. */
  url: string;
  /** Where the ingress listens (a unix socket). */
  ingress: Address;
  /** Where the log sink listens (a unix socket standing in for vsock port 5003). */
  logSink: Address;
  /** Settles, with a sentence, if the supervisor or the bridge exits without being asked to. */
  failed: Promise<string>;
  /** Stops the bridge, then the supervisor (which drains the ingress and stops the app). */
  stop(): Promise<void>;
}

/** Unix socket paths are limited to 107 bytes; deeper checkouts put the socket in the temp dir. */
const MAX_SOCKET_PATH = 100;
const POLL_MS = 50;
/** How long the supervisor and then the bridge have to become ready. */
const READY_TIMEOUT_MS = 60_000;
// Next to this file, in the same build (.js in dist).
const EXIT_WITH_PARENT = join(__dirname, `exit-with-parent${extname(__filename)}`);

/**
 * Runs the enclave's process layout on this machine: the supervisor (development NSM, ingress on
 * a unix socket standing in for vsock port 5000, app as its child) and, as separate processes
 * like on the parent instance, the log sink (a unix socket for vsock port 5003: every line of the
 * supervisor, the ingress and the app comes out of its standard output), the egress relay and the
 * bridge from 127.0.0.1:`port` to the ingress. A busy port is
 * refused before anything starts (`PORT_BUSY`).
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { showLogs } = options;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  await assertPortFree(options.port);

  const runDir = resolve(options.runDir);
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const readyFile = join(runDir, 'ready');
  rmSync(readyFile, { force: true });
  let socket = join(runDir, 'ingress.sock');
  let socketDir: string | undefined;
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    socketDir = mkdtempSync(join(tmpdir(), 'cloister-dev-'));
    socket = join(socketDir, 'ingress.sock');
  }

  // The parent's egress relay (vsock port 5001 on Nitro), here on a unix socket next to the ingress's.
  const egressSocket = join(dirname(socket), 'egress.sock');
  const relay = startChild(
    'egress relay',
    join(options.codeDir, 'parent', 'egress-relay', 'main.js'),
    ['--listen', `unix://${egressSocket}`, '--config', options.configPath],
    showLogs,
    ['--require', EXIT_WITH_PARENT],
  );
  // The parent's log sink (vsock port 5003 on Nitro): the supervisor's, the ingress's and the app's
  // lines come out of it, as they would on the parent instance.
  const logSocket = join(dirname(socket), 'logs.sock');
  const sink = startChild('log sink', join(options.codeDir, 'parent', 'log-sink', 'main.js'), ['--listen', `unix://${logSocket}`], showLogs, [
    '--require',
    EXIT_WITH_PARENT,
  ]);
  const pcrFlags = ([0, 1, 2] as const).flatMap((i) => [`--pcr${i}`, options.pcrs[i]]);
  const supervisor = startChild(
    'enclave supervisor',
    join(options.codeDir, 'enclave', 'main.js'),
    [
      '--config',
      options.configPath,
      '--nsm',
      'dev',
      '--dev-dir',
      options.devDir,
      ...pcrFlags,
      '--ingress',
      `unix://${socket}`,
      '--egress-relay',
      `unix://${egressSocket}`,
      '--log-sink',
      `unix://${logSocket}`,
      '--ready-file',
      readyFile,
      ...appFlags(options.app),
    ],
    showLogs,
  );
  // Stopped in reverse: the sink last, so it hears the supervisor's last lines.
  const children: StackChild[] = [sink, relay, supervisor];
  const stop = async () => {
    for (const child of [...children].reverse()) await child.stop();
    rmSync(readyFile, { force: true });
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  };

  try {
    await untilReady(sink, deadline, () => sink.logged('log_sink_listening'));
    await untilReady(relay, deadline, () => relay.logged('egress_relay_listening'));
    await untilReady(supervisor, deadline, () => existsSync(readyFile));
    const ingress = parseAddress(readFileSync(readyFile, 'utf8').trim());
    const bridge = startChild(
      'bridge',
      join(options.codeDir, 'parent', 'bridge', 'main.js'),
      ['--listen', `tcp://127.0.0.1:${options.port}`, '--target', `unix://${socket}`],
      showLogs,
      ['--require', EXIT_WITH_PARENT],
    );
    children.push(bridge);
    // Its own word rather than a probe connection, which the ingress would log as a broken handshake.
    await untilReady(bridge, deadline, () => bridge.logged('bridge_listening'));

    let stopping = false;
    const failed = Promise.race(
      children.map(async (child) => {
        const { code, signal } = await child.exited;
        // Never settles when asked to stop: only an unexpected exit is a failure.
        if (stopping) return new Promise<string>(() => {});
        return `The ${child.name} exited (${signal ?? `status ${code}`}).${tailOf(child)}`;
      }),
    );
    return {
      url: `https://127.0.0.1:${options.port}`,
      ingress,
      logSink: { kind: 'unix', path: logSocket },
      failed,
      stop: () => {
        stopping = true;
        return stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The supervisor's flags naming the app; a command goes last, after "--". */
function appFlags(app: HostedApp): string[] {
  return app.kind === 'module' ? ['--app-module', app.path] : ['--', ...app.argv];
}

async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'is in use (perhaps by another cloister dev)' : `cannot be used: ${e.message}`;
      reject(new LocalStackError('PORT_BUSY', `127.0.0.1:${port} ${why}. Stop what holds it, or choose another port with --port.`));
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** Polls `isReady` until it holds; fails if the child exits first or the deadline passes. */
async function untilReady(child: StackChild, deadline: number, isReady: () => boolean): Promise<void> {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void child.exited.then((e) => (exit = e));
  for (;;) {
    if (exit) {
      throw new LocalStackError('PROCESS_FAILED', `The ${child.name} exited (${exit.signal ?? `status ${exit.code}`}) before it was ready.${tailOf(child)}`);
    }
    if (isReady()) return;
    if (Date.now() > deadline) throw new LocalStackError('PROCESS_FAILED', `The ${child.name} was not ready in time.${tailOf(child)}`);
    await sleep(POLL_MS);
  }
}

function tailOf(child: StackChild): string {
  const tail = child.stderrTail();
  return tail ? `\n${tail}` : '';
}
