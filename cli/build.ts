import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../apps/config';
import { loadConfigFile } from '../enclave/config/load-config';
import type { CliIo } from './main';
import { UsageError } from './usage-error';

/** The image tag `cloister build` gives the Docker image unless told otherwise. */
export const DEFAULT_TAG = 'cloister-enclave:latest';
/** Where `cloister build` writes the EIF, pcrs.json and policy.json unless told otherwise. */
export const DEFAULT_OUT = 'eif';
/** The file name of the enclave image inside the output directory. */
export const EIF_NAME = 'cloister.eif';

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
 * comes (progress), and resolves to what it printed. A missing executable is a ToolError with exit
 * status 2; a non-zero exit is a ToolError with exit status 1 carrying the tool's stderr.
 */
export function runTool(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onStderr?: (text: string) => void; cwd?: string } = {},
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
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
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

const PCR_HEX = /^[0-9a-f]{96}$/;

/** The PCRs of `nitro-cli build-enclave` (or describe-eif) JSON: `{"Measurements": {"PCR0": …}}`. */
export function readMeasurements(output: unknown): Record<string, string> {
  const measurements = (output as { Measurements?: unknown } | null)?.Measurements;
  if (typeof measurements !== 'object' || measurements === null) throw new ToolError('nitro-cli build-enclave printed no "Measurements"', 1);
  const pcrs: Record<string, string> = {};
  for (const [name, value] of Object.entries(measurements as Record<string, unknown>)) {
    if (!/^PCR\d{1,2}$/.test(name)) continue;
    const hex = typeof value === 'string' ? value.toLowerCase() : '';
    if (!PCR_HEX.test(hex)) throw new ToolError(`nitro-cli build-enclave printed ${name} = ${JSON.stringify(value)}, not 96 hex digits`, 1);
    pcrs[name] = hex;
  }
  for (const name of ['PCR0', 'PCR1', 'PCR2']) {
    if (!(name in pcrs)) throw new ToolError(`nitro-cli build-enclave printed no ${name}`, 1);
  }
  return pcrs;
}

interface BuildFlags {
  tag: string;
  out: string;
  context: string;
  file?: string;
  dockerBuildArg: string[];
  config?: string;
}

/** `cloister build`: Docker image → EIF with nitro-cli, pcrs.json and a ready client policy.json. */
export function registerBuild(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('build')
    .description(
      'On a build host with Docker and nitro-cli: build the image (docker build), convert it to an enclave image file ' +
        '(nitro-cli build-enclave), and write cloister.eif, pcrs.json and a client policy.json to the output directory.',
    )
    .option('--tag <tag>', 'the Docker image tag', DEFAULT_TAG)
    .option('--out <dir>', 'the output directory', DEFAULT_OUT)
    .option('--context <dir>', 'the Docker build context (the checkout)', '.')
    .option('--file <Dockerfile>', 'the Dockerfile (default: <context>/Dockerfile)')
    .option('--docker-build-arg <K=V>', 'a build argument for docker build (e.g. BASE_IMAGE=node:20-bookworm-slim@sha256:…); repeat for more', collect, [])
    .option('--config <file>', 'the runtime configuration the enclave will get: its digest goes into policy.json')
    .action(async (flags: BuildFlags) => {
      exit(await build(flags, io));
    });
}

async function build(flags: BuildFlags, io: CliIo): Promise<number> {
  const buildArgs = flags.dockerBuildArg.map(parseBuildArg);
  const base = buildArgs.find(([k]) => k === 'BASE_IMAGE');
  if (base && !/@sha256:[0-9a-f]{64}$/.test(base[1])) {
    throw new UsageError(`--docker-build-arg BASE_IMAGE=${base[1]} is not pinned by digest (NAME@sha256:<64 hex>): the image would not be reproducible.`);
  }
  const epoch = process.env.SOURCE_DATE_EPOCH ?? '0';
  if (!/^\d+$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH=${epoch} is not a number of seconds.`);
  let configDigest: string | undefined;
  if (flags.config !== undefined) {
    try {
      configDigest = loadConfigFile(flags.config).digest.toString('hex');
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(`${flags.config}: ${e.message}`);
      throw e;
    }
  }
  const out = resolve(flags.out);
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create the output directory ${out}: ${(e as Error).message}`);
  }
  const context = resolve(flags.context);
  const eif = join(out, EIF_NAME);
  const env = { ...process.env, SOURCE_DATE_EPOCH: epoch, DOCKER_BUILDKIT: '1' };

  const dockerArgs = ['build', '--tag', flags.tag, '--file', flags.file ? resolve(flags.file) : join(context, 'Dockerfile')];
  dockerArgs.push('--build-arg', `SOURCE_DATE_EPOCH=${epoch}`);
  for (const [k, v] of buildArgs) dockerArgs.push('--build-arg', `${k}=${v}`);
  dockerArgs.push(context);
  const nitroArgs = ['build-enclave', '--docker-uri', flags.tag, '--output-file', eif];

  try {
    io.stderr(`cloister build: docker ${dockerArgs.join(' ')}\n`);
    await runTool('docker', dockerArgs, { env, onStderr: io.stderr });
    io.stderr(`cloister build: nitro-cli ${nitroArgs.join(' ')}\n`);
    const { stdout } = await runTool('nitro-cli', nitroArgs, { env });
    const pcrs = readMeasurements(parseToolJson('nitro-cli build-enclave', stdout));
    const policy: Record<string, unknown> = {
      root: 'aws',
      pcrs: Object.fromEntries(Object.entries(pcrs).map(([name, hex]) => [name.slice(3), [hex]])),
      ...(configDigest ? { config: configDigest } : {}),
      maxAgeSeconds: 300,
      allowDebug: false,
    };
    writeFileSync(join(out, 'pcrs.json'), `${JSON.stringify(pcrs, null, 2)}\n`);
    writeFileSync(join(out, 'policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
    const lines = [
      `image   ${flags.tag}`,
      `eif     ${eif}`,
      `pcrs    ${join(out, 'pcrs.json')}`,
      ...Object.entries(pcrs).map(([name, hex]) => `  ${name.padEnd(5)} ${hex}`),
      `policy  ${join(out, 'policy.json')} (root aws, PCR0/1/2, maxAgeSeconds 300, allowDebug false)`,
      configDigest
        ? `config  ${configDigest} (from ${flags.config})`
        : 'note    policy.json pins no configuration: add "config": "<digest>" (cloister config digest FILE) or rerun with --config FILE',
    ];
    io.stdout(`${lines.join('\n')}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    io.stderr(`cloister build: ${e.message}\n`);
    return e.exitCode;
  }
}

function parseBuildArg(arg: string): [string, string] {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(arg);
  if (!match) throw new UsageError(`--docker-build-arg ${arg} is not KEY=VALUE.`);
  if (match[1] === 'SOURCE_DATE_EPOCH') throw new UsageError('set SOURCE_DATE_EPOCH in the environment, not with --docker-build-arg.');
  return [match[1]!, match[2]!];
}

const collect = (value: string, previous: string[]) => [...previous, value];
