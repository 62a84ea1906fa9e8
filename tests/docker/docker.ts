import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { DockerEngine } from './engine';
import { type CommandResult, CommandError, run, step } from './run';
import type { StandInImages } from './standins';

const MINUTES = 60_000;

/** The environment variables through which the image tests' global setup hands its engine and stand-ins to test files. */
export const CONTEXT_VARIABLES = {
  docker: 'CLOISTER_TEST_DOCKER',
  started: 'CLOISTER_TEST_DOCKER_STARTED',
  BUILD_IMAGE: 'CLOISTER_TEST_BUILD_IMAGE',
  BASE_IMAGE: 'CLOISTER_TEST_BASE_IMAGE',
} as const;

/** What the global setup of `jest.image.config.js` prepared for every image test file. */
export interface ImageTestContext {
  /** The engine; its `stop` does nothing here, the global teardown stops it. */
  engine: DockerEngine;
  /** The stand-in base images, to pass as `--build-arg BUILD_IMAGE=… --build-arg BASE_IMAGE=…`. */
  images: StandInImages;
}

/** No global setup ran: the file was not run by `npm run test:image`. */
export class ImageTestSetupError extends Error {
  constructor(missing: string) {
    super(
      `${missing} is not set: run image tests with \`npm run test:image\` (jest -c jest.image.config.js), whose global setup starts the engine and makes the stand-in images`,
    );
    this.name = 'ImageTestSetupError';
  }
}

/** The engine and stand-ins of this run, as the global setup left them in the environment (DOCKER_HOST included). */
export function imageTestContext(): ImageTestContext {
  const read = (name: string) => {
    const value = process.env[name];
    if (!value) throw new ImageTestSetupError(name);
    return value;
  };
  return {
    engine: { env: { ...process.env }, docker: read(CONTEXT_VARIABLES.docker), started: process.env[CONTEXT_VARIABLES.started] === '1', stop: async () => {} },
    images: { BUILD_IMAGE: read(CONTEXT_VARIABLES.BUILD_IMAGE), BASE_IMAGE: read(CONTEXT_VARIABLES.BASE_IMAGE) },
  };
}

/** The inverse of `imageTestContext`, for the global setup. */
export function contextVariables({ engine, images }: ImageTestContext): Record<string, string> {
  return {
    ...(engine.env.DOCKER_HOST && { DOCKER_HOST: engine.env.DOCKER_HOST }),
    [CONTEXT_VARIABLES.docker]: engine.docker,
    [CONTEXT_VARIABLES.started]: engine.started ? '1' : '0',
    [CONTEXT_VARIABLES.BUILD_IMAGE]: images.BUILD_IMAGE,
    [CONTEXT_VARIABLES.BASE_IMAGE]: images.BASE_IMAGE,
  };
}

/** Runs `docker <args>` against the engine; rejects with a `CommandError` quoting its output when it fails or runs past `timeoutMs`. */
export function docker(args: readonly string[], options: { timeoutMs?: number; input?: string; context?: ImageTestContext } = {}): Promise<CommandResult> {
  const { engine } = options.context ?? imageTestContext();
  return run(engine.docker, args, { env: engine.env, timeoutMs: options.timeoutMs ?? MINUTES, input: options.input });
}

export interface DockerBuildOptions {
  /** `classic` (DOCKER_BUILDKIT=0) or `buildkit` (DOCKER_BUILDKIT=1: the engine's own BuildKit through Debian's client). Default classic. */
  builder?: 'classic' | 'buildkit';
  /** `--no-cache`: every step runs again. Default true, so that a build proves what it claims. */
  noCache?: boolean;
  /**
   * More `--build-arg`s; BUILD_IMAGE and BASE_IMAGE are the stand-ins unless given here. BuildKit
   * finds a local image by its tag but not by its ID (`sha256:…` goes to a registry): pass tags.
   */
  buildArgs?: Record<string, string>;
  /** Default 20 minutes. */
  timeoutMs?: number;
  /** Default: `imageTestContext()`. */
  context?: ImageTestContext;
}

/** A finished build. */
export interface BuildResult {
  tag: string;
  /** The image ID. */
  id: string;
  seconds: number;
  /** The end of the build's output. */
  log: string;
}

/**
 * Builds the Dockerfile in `contextDir` as `tag` the way the image tests do: with the stand-in
 * base images, `--network none` (everything comes from the stand-ins) and the chosen builder.
 */
export async function dockerBuild(contextDir: string, tag: string, options: DockerBuildOptions = {}): Promise<BuildResult> {
  const context = options.context ?? imageTestContext();
  const builder = options.builder ?? 'classic';
  const buildArgs = { ...context.images, ...options.buildArgs };
  const args = [
    'build',
    '--network',
    'none',
    ...(options.noCache === false ? [] : ['--no-cache']),
    ...(builder === 'buildkit' ? ['--progress', 'plain'] : []),
    ...Object.entries(buildArgs).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
    '--tag',
    tag,
    contextDir,
  ];
  const started = Date.now();
  const { stdout, stderr } = await step(`docker build (${builder}) ${tag}`, () =>
    run(context.engine.docker, args, {
      env: { ...context.engine.env, DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' },
      timeoutMs: options.timeoutMs ?? 20 * MINUTES,
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const { stdout: id } = await docker(['image', 'inspect', '--format', '{{.Id}}', tag], { context });
  return { tag, id: id.trim(), seconds, log: `${stdout}${stderr}` };
}

/**
 * Writes the file system of a container made from `image` (not started) to the tar file `file`,
 * as `docker create` and `docker export` give it, then removes the container.
 */
export async function exportImage(image: string, file: string, context: ImageTestContext = imageTestContext()): Promise<void> {
  const { stdout } = await docker(['create', image], { context });
  const container = stdout.trim();
  try {
    const child = spawn(context.engine.docker, ['export', container], { env: context.engine.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * MINUTES);
    try {
      const [code] = await Promise.all([exited, pipeline(child.stdout, createWriteStream(file))]);
      if (code !== 0) throw new CommandError(`docker export ${container} failed (${code ?? 'killed'}): ${stderr.trim()}`, 'docker export', code, '', stderr);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await docker(['rm', '--force', container], { context });
  }
}

/** Removes images (and the containers made from them), ignoring those already gone. */
export async function removeImages(tags: readonly string[], context: ImageTestContext = imageTestContext()): Promise<void> {
  if (tags.length === 0) return;
  const { stdout } = await docker(['ps', '--all', '--quiet', ...tags.flatMap((tag) => ['--filter', `ancestor=${tag}`])], { context }).catch(() => ({
    stdout: '',
  }));
  const containers = stdout.split('\n').filter(Boolean);
  if (containers.length > 0) await docker(['rm', '--force', ...containers], { context }).catch(() => undefined);
  await docker(['image', 'rm', '--force', ...tags], { context, timeoutMs: 5 * MINUTES }).catch(() => undefined);
}
