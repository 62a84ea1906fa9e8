import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, ensureDebianPackages, progress, run, step } from './run';

/** Debian's client: it builds with BuildKit (`DOCKER_BUILDKIT=1`) without the buildx plugin that newer clients need. */
const DEBIAN_CLIENT = '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** No Docker engine answers and none could be started. */
export class DockerEngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DockerEngineError';
  }
}

/** A Docker engine the image tests talk to. */
export interface DockerEngine {
  /** The environment to run `docker` with: this process's, with the engine's `DOCKER_HOST`. */
  env: NodeJS.ProcessEnv;
  /** The docker client to run (an absolute path when Debian's client is installed, else `docker`). */
  docker: string;
  /** Whether these tests started the engine (and `stop` ends it) rather than finding one. */
  started: boolean;
  /** Ends the engine these tests started and removes its files; nothing for an engine found running. */
  stop(): Promise<void>;
}

/**
 * The Docker engine for the image tests: the one `docker info` already reaches (through
 * `DOCKER_HOST` or the default socket), or else, as root, a `dockerd` of our own (Debian's
 * docker.io, installed with apt-get when missing) with no bridge and no iptables rules, whose data
 * root, exec root, pid file and socket live in a fresh temporary directory, so that it never
 * touches a system engine nor another test run's.
 */
export async function ensureDockerEngine(): Promise<DockerEngine> {
  const docker = existsSync(DEBIAN_CLIENT) ? DEBIAN_CLIENT : 'docker';
  if (await answers(docker, process.env)) {
    progress(`using the Docker engine that ${docker} reaches${process.env.DOCKER_HOST ? ` at ${process.env.DOCKER_HOST}` : ''}`);
    return { env: { ...process.env }, docker, started: false, stop: async () => {} };
  }
  if (process.getuid?.() !== 0) {
    throw new DockerEngineError(
      'no Docker engine answers `docker info`, and only root can start one: start an engine (or set DOCKER_HOST) and run the image tests again',
    );
  }
  await ensureDebianPackages({ [DOCKERD]: 'docker.io', [DEBIAN_CLIENT]: 'docker.io' });
  return step('starting a Docker engine of our own', () => startDockerd(DEBIAN_CLIENT));
}

async function answers(docker: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    await run(docker, ['info', '--format', '{{.ServerVersion}}'], { env, timeoutMs: 20_000 });
    return true;
  } catch (e) {
    if (e instanceof CommandError) return false;
    throw e;
  }
}

async function startDockerd(docker: string): Promise<DockerEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  // An empty configuration file: a system /etc/docker/daemon.json (hosts, bridge, …) must not apply.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const log = openSync(logPath, 'a');
  const args = [
    '--config-file',
    join(dir, 'daemon.json'),
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'dockerd.pid'),
    '-H',
    `unix://${socket}`,
  ];
  const child = spawn(DOCKERD, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  const logTail = () => readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(docker, env))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new DockerEngineError(`dockerd exited (${child.exitCode ?? child.signalCode}) while starting:\n${logTail()}`);
    }
    if (Date.now() > deadline) {
      await stopDockerd(child, exited, dir);
      throw new DockerEngineError(`dockerd did not answer within ${START_TIMEOUT_MS / 1000} s:\n${logTail()}`);
    }
    await sleep(250);
  }
  progress(`dockerd (pid ${child.pid}) answers at ${env.DOCKER_HOST}; its log is ${logPath}`);
  return { env, docker, started: true, stop: () => step('stopping our Docker engine', () => stopDockerd(child, exited, dir)) };
}

/** SIGTERM (dockerd then stops its containers and its containerd), SIGKILL if that takes too long; then its files go. */
async function stopDockerd(child: ChildProcess, exited: Promise<void>, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  // dockerd leaves its default network namespace handle (exec/netns/default) mounted, and a killed
  // one its overlays too: a mounted file cannot be removed.
  for (const mountPoint of mountsBelow(dir)) {
    await run('umount', ['--lazy', mountPoint], { timeoutMs: 30_000 }).catch((e: Error) => progress(e.message));
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    progress(`could not remove ${dir}: ${(e as Error).message}`);
  }
}

/** Mount points below `dir`, deepest first. */
function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}
