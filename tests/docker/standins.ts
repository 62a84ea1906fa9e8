import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DockerEngine } from './engine';
import { CommandError, ensureDebianPackages, progress, run, step } from './run';

/** Bump when the recipe below changes, so that no cached stand-in made the old way is used. */
const RECIPE_VERSION = 1;
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
const BUILD_PACKAGES = ['python3', 'make', 'g++'];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the build stand-in keeps the npm cache it installs from, offline. */
const NPM_CACHE = '/var/cache/npm';
const MINUTES = 60_000;

/** The repository these tests belong to. */
export const REPO_ROOT = join(__dirname, '..', '..');

/** The two base images of the Dockerfile, by its build argument names. */
export interface StandInImages {
  /** Debian bookworm with python3, make, g++, Node and npm under /usr/local, and the lockfile's packages in npm's cache. */
  BUILD_IMAGE: string;
  /** Debian bookworm (minbase) with Node at /usr/local/bin/node. */
  BASE_IMAGE: string;
}

/** A stand-in image could not be made (no Node headers to copy, a failed debootstrap, …). */
export class StandInError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StandInError';
  }
}

/** This machine's Node installation, which both stand-ins carry as the official node images do. */
interface HostNode {
  binary: string;
  version: string;
  npmDir: string;
  npmVersion: string;
  headers: string;
}

function hostNode(): HostNode {
  // Node's own layout: <prefix>/bin/node, <prefix>/lib/node_modules/npm, <prefix>/include/node.
  const prefix = dirname(dirname(process.execPath));
  const npmDir = join(prefix, 'lib', 'node_modules', 'npm');
  const headers = join(prefix, 'include', 'node');
  if (!existsSync(join(npmDir, 'bin', 'npm-cli.js'))) throw new StandInError(`no npm next to ${process.execPath} (looked for ${npmDir})`);
  if (!existsSync(join(headers, 'node_api.h'))) {
    throw new StandInError(
      `no Node headers next to ${process.execPath} (looked for ${headers}): the build stand-in needs them so that node-gyp downloads nothing`,
    );
  }
  const npmVersion = (JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')) as { version: string }).version;
  return { binary: process.execPath, version: process.version, npmDir, npmVersion, headers };
}

/** `${XDG_CACHE_HOME:-~/.cache}/cloister-image-tests`: stand-ins survive between runs on one machine. */
export function standInCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cloister-image-tests');
}

const digest = (...parts: (string | Buffer)[]) =>
  parts
    .reduce((hash, part) => hash.update(part).update('\0'), createHash('sha256'))
    .digest('hex')
    .slice(0, 16);

/**
 * Stand-ins for the Dockerfile's pinned official node images, which cannot be pulled here, made in
 * `engine` (or found there from an earlier run): Debian bookworm from debootstrap (minbase, one run
 * for both: the runtime is taken before the build packages go in), this machine's Node binary at
 * /usr/local/bin/node, and for the build image npm, Node's headers and an npm cache filled on this
 * machine from `repo`'s lockfile, with the settings that make npm and node-gyp use them offline, so
 * that the Dockerfile builds with `--network none`. The root file systems (as tarballs) and the
 * npm cache are kept in `standInCacheDir()`, keyed by what they are made of, so that a new engine
 * imports them again in seconds.
 */
export async function standInImages(engine: DockerEngine, repo: string = REPO_ROOT): Promise<StandInImages> {
  const node = hostNode();
  const cacheRoot = standInCacheDir();
  mkdirSync(cacheRoot, { recursive: true });
  removeAbandonedWork(cacheRoot);
  const rootfsKey = digest(`recipe ${RECIPE_VERSION}`, SUITE, MIRROR, BUILD_PACKAGES.join(' '), process.arch, node.version, node.npmVersion);
  const npmKey = digest(`recipe ${RECIPE_VERSION}`, node.npmVersion, readFileSync(join(repo, 'package-lock.json')));
  const images: StandInImages = {
    BASE_IMAGE: `cloister-test-node-base:${rootfsKey}`,
    BUILD_IMAGE: `cloister-test-node-build:${rootfsKey}-${npmKey}`,
  };
  const buildBase = `cloister-test-node-build-base:${rootfsKey}`;
  const needBase = !(await hasImage(engine, images.BASE_IMAGE));
  const needBuild = !(await hasImage(engine, images.BUILD_IMAGE));
  if (!needBase && !needBuild) {
    progress(`stand-in images ${images.BASE_IMAGE} and ${images.BUILD_IMAGE} are in the engine already`);
    return images;
  }
  const needBuildBase = needBuild && !(await hasImage(engine, buildBase));

  const rootfs = join(cacheRoot, `rootfs-${rootfsKey}`);
  if (needBase || needBuildBase) {
    if (!existsSync(rootfs)) await cached(rootfs, (work) => makeRootfsTarballs(work, node));
    else progress(`reusing the stand-in root file systems in ${rootfs}`);
  }
  const env = [`PATH=${PATH}`, `NODE_VERSION=${node.version.slice(1)}`];
  if (needBase) await importRootfs(engine, join(rootfs, 'runtime.tar'), images.BASE_IMAGE, env);
  if (needBuildBase) await importRootfs(engine, join(rootfs, 'build.tar'), buildBase, [...env, 'npm_config_nodedir=/usr/local']);
  if (needBuild) {
    const npmCache = join(cacheRoot, `npm-${npmKey}`);
    if (!existsSync(npmCache)) await cached(npmCache, (work) => fillNpmCache(work, repo, node));
    else progress(`reusing the npm cache in ${npmCache}`);
    await step(`adding the npm cache to ${images.BUILD_IMAGE}`, () => addNpmCache(engine, buildBase, npmCache, images.BUILD_IMAGE));
  }
  return images;
}

async function hasImage(engine: DockerEngine, tag: string): Promise<boolean> {
  try {
    await run(engine.docker, ['image', 'inspect', '--format', '{{.Id}}', tag], { env: engine.env, timeoutMs: 30_000 });
    return true;
  } catch (e) {
    if (e instanceof CommandError) return false;
    throw e;
  }
}

const WORK_PREFIXES = /\.making-|^npm-project-|^npm-layer-/;
const ABANDONED_AFTER_MS = 3 * 3_600_000;

/** Work directories that a killed run left behind (a root file system is most of a gigabyte); a live run's are younger. */
function removeAbandonedWork(cacheRoot: string): void {
  for (const name of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, name);
    if (WORK_PREFIXES.test(name) && Date.now() - statSync(path).mtimeMs > ABANDONED_AFTER_MS) removeTree(path);
  }
}

/** rm -rf that reports rather than throws: a cleanup failure must not hide what went wrong before it. */
function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (e) {
    progress(`could not remove ${path}: ${(e as Error).message}`);
  }
}

/**
 * Makes the cache entry `target` in a work directory beside it, then renames it into place, so
 * that an interrupted run leaves no half-made entry and two runs at once both end with a whole one.
 */
async function cached(target: string, make: (work: string) => Promise<void>): Promise<void> {
  const work = mkdtempSync(`${target}.making-`);
  try {
    await make(work);
    try {
      renameSync(work, target);
    } catch (e) {
      if (!existsSync(target)) throw e; // else another run made it first
    }
  } finally {
    removeTree(work);
  }
}

/** `runtime.tar` and `build.tar` in `out`: one debootstrap, the runtime archived before the build packages go in. */
async function makeRootfsTarballs(out: string, node: HostNode): Promise<void> {
  await ensureDebianPackages({ '/usr/sbin/debootstrap': 'debootstrap' });
  const rootfs = join(out, 'rootfs');
  await step(`debootstrap --variant=minbase ${SUITE}`, () => run('debootstrap', ['--variant=minbase', SUITE, rootfs, MIRROR], { timeoutMs: 15 * MINUTES }));
  tidy(rootfs);
  mkdirSync(join(rootfs, 'usr', 'local', 'bin'), { recursive: true });
  copyFileSync(node.binary, join(rootfs, 'usr', 'local', 'bin', 'node'));
  chmodSync(join(rootfs, 'usr', 'local', 'bin', 'node'), 0o755);
  await step('archiving the runtime root file system', () => tar(rootfs, join(out, 'runtime.tar')));

  const chrootEnv = ['/usr/bin/env', '-i', `PATH=${PATH}`, 'DEBIAN_FRONTEND=noninteractive'];
  await step(`apt-get install ${BUILD_PACKAGES.join(' ')} (in the build root file system)`, async () => {
    await run('chroot', [rootfs, ...chrootEnv, 'apt-get', 'update', '-q'], { timeoutMs: 5 * MINUTES });
    await run('chroot', [rootfs, ...chrootEnv, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...BUILD_PACKAGES], { timeoutMs: 15 * MINUTES });
  });
  tidy(rootfs);
  const local = join(rootfs, 'usr', 'local');
  mkdirSync(join(local, 'lib', 'node_modules'), { recursive: true });
  mkdirSync(join(local, 'include'), { recursive: true });
  await run('cp', ['-a', node.npmDir, join(local, 'lib', 'node_modules', 'npm')], { timeoutMs: 5 * MINUTES });
  await run('cp', ['-a', node.headers, join(local, 'include', 'node')], { timeoutMs: 5 * MINUTES });
  // As in the official images: npm and npx are links into npm's own bin/.
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin', 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin', 'npx'));
  await step('archiving the build root file system', () => tar(rootfs, join(out, 'build.tar')));
  rmSync(rootfs, { recursive: true, force: true });
}

/** What an image needs neither to build nor to run: downloaded packages and package lists. */
function tidy(rootfs: string): void {
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const name of readdirSync(join(rootfs, dir))) {
      if (name !== 'partial' && name !== 'lock') rmSync(join(rootfs, dir, name), { recursive: true, force: true });
    }
  }
}

/** The root file system without its device nodes, which chroot needed and which the engine provides in a container. */
function tar(dir: string, file: string): Promise<unknown> {
  return run('tar', ['--numeric-owner', '--exclude=./dev/*', '-C', dir, '-cf', file, '.'], { timeoutMs: 10 * MINUTES });
}

/** npm's cache (`out/_cacache`), filled by a real `npm ci` of the lockfile in a copy of the project's manifest. */
async function fillNpmCache(out: string, repo: string, node: HostNode): Promise<void> {
  const project = mkdtempSync(join(dirname(out), 'npm-project-'));
  try {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(repo, file), join(project, file));
    await step('npm ci (filling the npm cache for the build stand-in)', () =>
      run(process.execPath, [join(node.npmDir, 'bin', 'npm-cli.js'), 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--logs-max=0', '--cache', out], {
        cwd: project,
        timeoutMs: 15 * MINUTES,
      }),
    );
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

async function importRootfs(engine: DockerEngine, tarball: string, tag: string, env: string[]): Promise<void> {
  // CMD as in the official node images; the Dockerfile's ENTRYPOINT replaces it.
  const changes = [...env.map((line) => `ENV ${line}`), 'CMD ["node"]'].flatMap((change) => ['--change', change]);
  await step(`docker import ${tag}`, () => run(engine.docker, ['import', ...changes, tarball, tag], { env: engine.env, timeoutMs: 10 * MINUTES }));
}

/** `tag`: `base` with the npm cache in NPM_CACHE, and npm told to install from it alone. */
async function addNpmCache(engine: DockerEngine, base: string, npmCache: string, tag: string): Promise<void> {
  const dir = mkdtempSync(join(dirname(npmCache), 'npm-layer-'));
  try {
    const dockerfile = join(dir, 'Dockerfile');
    writeFileSync(dockerfile, `FROM ${base}\nCOPY . ${NPM_CACHE}/\nENV npm_config_cache=${NPM_CACHE} npm_config_offline=true\n`);
    await run(engine.docker, ['build', '--network', 'none', '--file', dockerfile, '--tag', tag, npmCache], {
      env: { ...engine.env, DOCKER_BUILDKIT: '0' },
      timeoutMs: 10 * MINUTES,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
