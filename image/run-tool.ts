import { spawn } from 'node:child_process';

/** A tool (docker, nitro-cli) that could not be started, or failed: exit 2 or 1. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** What a finished tool printed. */
export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args…` to completion (found on PATH), passing its stderr through `onStderr` as it
 * comes (progress; `onStdout` likewise), and resolves to what it printed. A missing executable is a ToolError with exit
 * status 2; a non-zero exit is a ToolError with exit status 1 carrying the tool's stderr.
 */
export function runTool(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onStderr?: (text: string) => void; onStdout?: (text: string) => void; cwd?: string } = {},
): Promise<ToolOutput> {
  return new Promise((done, fail) => {
    let child;
    try {
      child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      fail(new ToolError(`cannot run ${command}: ${(e as Error).message}`, 2));
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      stdout += t;
      options.onStdout?.(t);
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
      options.onStderr?.(t);
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      const missing = e.code === 'ENOENT';
      fail(new ToolError(missing ? `${command} is not installed or not on PATH (${installHint(command)})` : `cannot run ${command}: ${e.message}`, 2));
    });
    child.once('close', (code, signal) => {
      if (code === 0) return done({ stdout, stderr });
      const why = signal ? `was killed by ${signal}` : `failed (exit ${code})`;
      const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-20).join('\n');
      fail(new ToolError(`${command} ${args[0] ?? ''} ${why}${detail ? `:\n${detail}` : ''}`, 1));
    });
  });
}

function installHint(command: string): string {
  if (command === 'docker') return 'install Docker and start its daemon, e.g. `sudo dnf install -y docker && sudo systemctl enable --now docker`';
  if (command === 'nitro-cli') return 'install the Nitro Enclaves CLI, e.g. `sudo dnf install -y aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel`';
  return 'check PATH';
}

/**
 * The JSON object a nitro-cli command prints on stdout. Some versions print a line of prose
 * before it ("Start building the Enclave Image...", "Successfully terminated enclave …"), so the
 * first `{` or `[` from which the rest of the output parses is taken.
 */
export function parseToolJson(command: string, stdout: string): unknown {
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (c !== '{' && c !== '[') continue;
    if (i > 0 && stdout[i - 1] !== '\n' && stdout[i - 1] !== ' ' && stdout[i - 1] !== '\r') continue;
    try {
      return JSON.parse(stdout.slice(i));
    } catch {
      /* prose containing a brace; keep looking */
    }
  }
  throw new ToolError(`${command} printed no JSON output:\n${stdout.trim().split('\n').slice(-10).join('\n')}`, 1);
}
