import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Output kept from a command: enough to explain a failure, never a whole build log in memory. */
const KEEP_CHARS = 64 * 1024;

/** A command that could not start, failed, or ran past its time. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** What a command printed, its last `KEEP_CHARS` characters of each stream. */
export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Past this the command is killed (SIGKILL) and the run fails. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's standard input, which is otherwise empty. */
  input?: string;
}

/** Runs a command to its end; resolves when it exits 0, otherwise rejects with a `CommandError` quoting its output. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
  const shown = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Both streams as they came, for the message: a build says what failed on one, and that it failed on the other.
    let both = '';
    let timedOut = false;
    const keep = (text: string, chunk: string) => (text + chunk).slice(-KEEP_CHARS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = keep(stdout, chunk);
      both = keep(both, chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = keep(stderr, chunk);
      both = keep(both, chunk);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(`cannot run ${shown}: ${e.message}`, shown, null, stdout, stderr));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = timedOut ? `did not finish within ${options.timeoutMs / 1000} s` : `failed (${code ?? signal})`;
      const tail = both.trim().split('\n').slice(-40).join('\n');
      reject(new CommandError(`${shown} ${why}:\n${tail}`, shown, code, stdout, stderr));
    });
    child.stdin.on('error', () => {}); // a command that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** One line of progress on stderr: these steps take minutes, and jest shows nothing until a file ends. */
export function progress(line: string): void {
  process.stderr.write(`[image tests] ${line}\n`);
}

/** Runs `work`, saying on stderr what it is and how long it took. */
export async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  progress(`${what}…`);
  const result = await work();
  progress(`${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

let aptUpdated = false;

/**
 * Installs the Debian packages whose programs are missing (`{'/usr/sbin/dockerd': 'docker.io'}`),
 * as CI starts from a machine that has neither a Docker engine nor debootstrap. Needs root.
 */
export async function ensureDebianPackages(programs: Record<string, string>): Promise<void> {
  const missing = [
    ...new Set(
      Object.entries(programs)
        .filter(([path]) => !existsSync(path))
        .map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new CommandError(
      `the image tests need the Debian packages ${missing.join(', ')}; install them as root (apt-get install ${missing.join(' ')})`,
      'apt-get',
      null,
      '',
      '',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    await step('apt-get update', () => run('apt-get', ['update', '-q'], { env, timeoutMs: 5 * 60_000 }));
    aptUpdated = true;
  }
  // With the recommended packages: docker.io's bring cgroupfs-mount, which a machine without
  // systemd needs, and debootstrap's the keyring it checks the mirror with.
  await step(`apt-get install ${missing.join(' ')}`, () => run('apt-get', ['install', '-y', '-q', ...missing], { env, timeoutMs: 10 * 60_000 }));
}
