import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../contract/config';
import { loadConfigFile } from '../contract/load-config';
import { DEFAULT_BLOBS_DIR } from '../image/blobs';
import { type EnclaveBuild, buildEnclave } from '../image/build-enclave';
import { LOCAL_IMAGE_ID } from '../image/docker';
import { ImageError } from '../image/errors';
import { nitroCliBuild } from '../image/nitro-cli';
import type { Pcrs } from '../image/pcrs';
import { ToolError } from '../image/run-tool';
import type { CliIo } from './io';
import { toolVersion } from './tool-version';
import { UsageError } from './usage-error';
import { writeFileAtomic } from './write-atomic';

/** The image tag `cloister build` gives the Docker image unless told otherwise. */
export const DEFAULT_TAG = 'cloister-enclave:latest';
/** Where `cloister build` writes the EIF, pcrs.json and policy.json unless told otherwise. */
export const DEFAULT_OUT = 'eif';

/** The flags `cloister build` and `cloister verify-build` share: how to build the image and the EIF. */
export interface BuildFlags {
  tag: string;
  file?: string;
  dockerBuildArg: string[];
  network?: string;
  cache: boolean;
  blobs: string;
  kernel?: string;
}

/** Adds the build flags to a command, with the tag its image gets unless told otherwise. */
export function buildOptions(command: Command, defaultTag: string): Command {
  return command
    .option('--tag <tag>', 'the Docker image tag', defaultTag)
    .option('--file <Dockerfile>', 'the Dockerfile (default: <context>/Dockerfile)')
    .option('--docker-build-arg <K=V>', 'a build argument for docker build (e.g. BASE_IMAGE=node:20-bookworm-slim@sha256:…); repeat for more', collect, [])
    .option('--network <mode>', 'docker build --network (e.g. none, for a build that must reach nothing)')
    .option('--no-cache', 'docker build --no-cache')
    .option('--blobs <dir>', "AWS's Nitro boot blobs: init, nsm.ko, cmdline (and bzImage)", DEFAULT_BLOBS_DIR)
    .option('--kernel <file>', 'the kernel (default: <blobs>/bzImage)');
}

/** Checks the flags and turns them into a build; nothing is run yet. */
export function enclaveBuild(flags: BuildFlags, context: string, out: string, io: CliIo, image?: string): EnclaveBuild {
  const buildArgs = flags.dockerBuildArg.map(parseBuildArg);
  for (const [key, value] of buildArgs) {
    if ((key === 'BASE_IMAGE' || key === 'BUILD_IMAGE') && !/@sha256:[0-9a-f]{64}$/.test(value) && !LOCAL_IMAGE_ID.test(value)) {
      throw new UsageError(
        `--docker-build-arg ${key}=${value} is not pinned by digest (NAME@sha256:<64 hex>, or a local image ID sha256:<64 hex>): the image would not be reproducible.`,
      );
    }
  }
  const epoch = process.env.SOURCE_DATE_EPOCH ?? '0';
  if (!/^\d+$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH=${epoch} is not a number of seconds.`);
  return {
    context,
    dockerfile: flags.file ? resolve(flags.file) : join(context, 'Dockerfile'),
    tag: flags.tag,
    buildArgs: [['SOURCE_DATE_EPOCH', epoch], ...buildArgs],
    ...(flags.network === undefined ? {} : { network: flags.network }),
    noCache: !flags.cache,
    ...(image === undefined ? {} : { image }),
    blobsDir: resolve(flags.blobs),
    ...(flags.kernel === undefined ? {} : { kernel: resolve(flags.kernel) }),
    out,
    sourceDateEpoch: Number(epoch),
    toolVersion: toolVersion(),
    log: (line) => io.stderr(`cloister build: ${line}\n`),
    progress: (done, total) => io.stderr(`cloister build: ${Math.round(done / 2 ** 20)} of ${Math.round(total / 2 ** 20)} MiB written\n`),
  };
}

/**
 * The exit status for a failure of the build pipeline, after saying what went wrong: 2 for what
 * the caller must supply (a tool, a blob), 1 for a build that failed or an image that cannot run.
 */
export function buildFailure(e: unknown, io: CliIo, command: string): number {
  if (e instanceof ToolError) {
    io.stderr(`cloister ${command}: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof ImageError) {
    io.stderr(`cloister ${command}: ${e.code}: ${e.message}\n`);
    return e.code === 'BLOB_MISSING' ? 2 : 1;
  }
  throw e;
}

interface BuildCommandFlags extends BuildFlags {
  out: string;
  context: string;
  config?: string;
  image?: string;
  nitroCli?: boolean;
}

/** `cloister build`: Docker image → our own EIF, pcrs.json and a ready client policy.json. */
export function registerBuild(program: Command, io: CliIo, exit: (status: number) => void): void {
  buildOptions(
    program
      .command('build')
      .description(
        'Build the enclave image (docker build), assemble its EIF from the image and the Nitro boot blobs, compute PCR0/1/2, ' +
          'and write cloister.eif, pcrs.json and a client policy.json to the output directory. No nitro-cli needed.',
      )
      .option('--out <dir>', 'the output directory', DEFAULT_OUT)
      .option('--context <dir>', 'the Docker build context (the checkout)', '.')
      .option('--image <ref>', 'an image already built: skip docker build and make the EIF of this one')
      .option('--config <file>', 'the runtime configuration the enclave will get: its digest goes into policy.json')
      .option('--nitro-cli', 'also let nitro-cli build-enclave build the image, and report whether its PCRs equal ours'),
    DEFAULT_TAG,
  ).action(async (flags: BuildCommandFlags) => {
    exit(await build(flags, io));
  });
}

async function build(flags: BuildCommandFlags, io: CliIo): Promise<number> {
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
  const plan = enclaveBuild(flags, resolve(flags.context), out, io, flags.image);
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create the output directory ${out}: ${(e as Error).message}`);
  }
  try {
    const built = await buildEnclave(plan);
    const pcrs: Pcrs = built.pcrs;
    const policy: Record<string, unknown> = {
      root: 'aws',
      pcrs: { 0: [pcrs.PCR0], 1: [pcrs.PCR1], 2: [pcrs.PCR2] },
      ...(configDigest ? { config: configDigest } : {}),
      maxAgeSeconds: 300,
      allowDebug: false,
    };
    writeFileAtomic(join(out, 'pcrs.json'), `${JSON.stringify(pcrs, null, 2)}\n`);
    writeFileAtomic(join(out, 'policy.json'), `${JSON.stringify(policy, null, 2)}\n`);
    const lines = [
      `image   ${built.image} (${built.imageId})`,
      `eif     ${built.eif}`,
      `pcrs    ${join(out, 'pcrs.json')}`,
      ...Object.entries(pcrs).map(([name, hex]) => `  ${name.padEnd(5)} ${hex}`),
      `policy  ${join(out, 'policy.json')} (root aws, PCR0/1/2, maxAgeSeconds 300, allowDebug false)`,
      configDigest
        ? `config  ${configDigest} (from ${flags.config})`
        : 'note    policy.json pins no configuration: add "config": "<digest>" (cloister config digest FILE) or rerun with --config FILE',
    ];
    if (flags.nitroCli) lines.push(...(await compareWithNitroCli(built.image, join(out, 'nitro-cli.eif'), pcrs, io)));
    io.stdout(`${lines.join('\n')}\n`);
    return 0;
  } catch (e) {
    return buildFailure(e, io, 'build');
  }
}

/** Lets nitro-cli build the same image and says, PCR by PCR, whether its measurements equal ours. */
async function compareWithNitroCli(image: string, eif: string, ours: Pcrs, io: CliIo): Promise<string[]> {
  io.stderr(`cloister build: nitro-cli build-enclave --docker-uri ${image} --output-file ${eif}\n`);
  const theirs = await nitroCliBuild(image, eif);
  const lines = [`nitro-cli ${eif}`];
  for (const name of ['PCR0', 'PCR1', 'PCR2'] as const) {
    const same = theirs[name] === ours[name];
    lines.push(`  ${same ? '✓' : '✗'} ${name.padEnd(5)} ${theirs[name]}${same ? ' (equal)' : ' (differs)'}`);
  }
  if (theirs.PCR1 !== ours.PCR1) lines.push('  PCR1 differs: nitro-cli used other boot blobs than --blobs/--kernel.');
  if (theirs.PCR2 !== ours.PCR2) {
    lines.push(
      '  PCR2 differs: nitro-cli keeps the times and order of the image layers, cloister writes the image canonically; pin the PCRs of the EIF you run.',
    );
  }
  return lines;
}

function parseBuildArg(arg: string): [string, string] {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(arg);
  if (!match) throw new UsageError(`--docker-build-arg ${arg} is not KEY=VALUE.`);
  if (match[1] === 'SOURCE_DATE_EPOCH') throw new UsageError('set SOURCE_DATE_EPOCH in the environment, not with --docker-build-arg.');
  return [match[1]!, match[2]!];
}

const collect = (value: string, previous: string[]) => [...previous, value];
