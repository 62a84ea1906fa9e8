import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { runCli } from '../../cli/main';
import { SectionType } from '../../image/eif-format';
import { readEif } from '../../image/read-eif';
import { REPO_ROOT, docker, imageTestContext, progress, removeImages, step } from '.';

/*
 * `cloister build` and `cloister verify-build` against a real engine: the repository's Dockerfile on
 * the stand-in base images, then our own EIF. Two clones of the same commit, in different folders,
 * checked out under different umasks, built with --no-cache by different builders (the classic one
 * through a docker CLI without buildx, as on a host that lacks it, and BuildKit), must give the
 * same image ramdisk byte for byte and the same PCRs.
 */

const context = imageTestContext();
const BLOBS = join(REPO_ROOT, 'tests', 'fixtures', 'nitro-blobs', 'x86_64');
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const TAGS = [`cloister-eif-test:a-${RUN_ID}`, `cloister-eif-test:b-${RUN_ID}`];
/** A docker CLI without the buildx plugin, where docker 23+ falls back to the classic builder (the one the issue found failing under DOCKER_BUILDKIT=1). */
const CLI_WITHOUT_BUILDX = '/usr/local/bin/docker';

let tmp: string;
let kernel: string;
let pinned: string[];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-eif-test-'));
  kernel = join(tmp, 'bzImage');
  // Any bytes measure as a kernel; AWS's bzImage is not among the blobs we have.
  writeFileSync(kernel, createHash('sha512').update('a stand-in kernel').digest());
  // Pinned as the Dockerfile wants: the stand-ins' image IDs, which name their content.
  pinned = [];
  for (const [name, ref] of Object.entries(context.images)) {
    const { stdout } = await docker(['image', 'inspect', '--format', '{{.Id}}', ref], { context });
    pinned.push('--docker-build-arg', `${name}=${stdout.trim()}`);
  }
});

afterAll(async () => {
  await removeImages([...TAGS, 'cloister-verify-build:latest'], context);
  rmSync(tmp, { recursive: true, force: true });
});

function clone(dest: string, umask: string): string {
  mkdirSync(dirname(dest), { recursive: true });
  execFileSync('sh', ['-c', `umask ${umask} && git clone --quiet --no-hardlinks "$0" "$1"`, REPO_ROOT, dest]);
  return dest;
}

/** `cloister …` in this process, with `docker` on PATH being `client` and DOCKER_BUILDKIT as given. */
async function cloister(args: string[], client: string, buildkit: '1' | undefined): Promise<{ status: number; stdout: string; stderr: string }> {
  const saved = { PATH: process.env.PATH, DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT };
  process.env.PATH = `${dirname(client)}${delimiter}${process.env.PATH}`;
  if (buildkit) process.env.DOCKER_BUILDKIT = buildkit;
  else delete process.env.DOCKER_BUILDKIT;
  let stdout = '';
  let stderr = '';
  try {
    const status = await runCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { status, stdout, stderr };
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.DOCKER_BUILDKIT === undefined) delete process.env.DOCKER_BUILDKIT;
    else process.env.DOCKER_BUILDKIT = saved.DOCKER_BUILDKIT;
  }
}

/** SHA-256 of one section's payload, read in pieces. */
function sectionDigest(eif: string, type: SectionType, index: number): { sha256: string; size: number } {
  const section = readEif(eif).sections.filter((s) => s.type === type)[index]!;
  const fd = openSync(eif, 'r');
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < section.size;) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, section.size - at), section.offset + 12 + at);
      hash.update(chunk.subarray(0, n));
      at += n;
    }
    return { sha256: hash.digest('hex'), size: section.size };
  } finally {
    closeSync(fd);
  }
}

const expectOk = (r: { status: number; stdout: string; stderr: string }) => {
  if (r.status !== 0) throw new Error(`exit ${r.status}\n${r.stdout}\n${r.stderr.split('\n').slice(-40).join('\n')}`);
};

describe('cloister build from two clones of this commit', () => {
  const a = () => join(tmp, 'one', 'cloister');
  const b = () => join(tmp, 'two', 'deeper', 'cloister-b');

  it('gives a byte-identical image ramdisk and the same PCR0/1/2 (classic without buildx, then BuildKit; --no-cache; umask 022 and 002)', async () => {
    clone(a(), '022');
    clone(b(), '002');
    expect(readFileSync(join(a(), 'package.json')).equals(readFileSync(join(b(), 'package.json')))).toBe(true);
    const common = ['--no-cache', '--network', 'none', '--blobs', BLOBS, '--kernel', kernel, ...pinned];
    const classicClient = existsSync(CLI_WITHOUT_BUILDX) ? CLI_WITHOUT_BUILDX : context.engine.docker;
    const first = await step(`cloister build (classic, ${classicClient}) from ${a()}`, () =>
      cloister(['build', '--context', a(), '--out', join(a(), 'eif'), '--tag', TAGS[0]!, ...common], classicClient, undefined),
    );
    expectOk(first);
    const second = await step(`cloister build (BuildKit) from ${b()}`, () =>
      cloister(['build', '--context', b(), '--out', join(b(), 'eif'), '--tag', TAGS[1]!, ...common], context.engine.docker, '1'),
    );
    expectOk(second);

    const pcrsA = JSON.parse(readFileSync(join(a(), 'eif', 'pcrs.json'), 'utf8'));
    const pcrsB = JSON.parse(readFileSync(join(b(), 'eif', 'pcrs.json'), 'utf8'));
    progress(`PCRs of both builds: ${JSON.stringify(pcrsA)}`);
    expect(pcrsB).toEqual(pcrsA);
    const ramdiskA = sectionDigest(join(a(), 'eif', 'cloister.eif'), SectionType.ramdisk, 1);
    const ramdiskB = sectionDigest(join(b(), 'eif', 'cloister.eif'), SectionType.ramdisk, 1);
    progress(`image ramdisk of both builds: ${ramdiskA.size} bytes, sha256 ${ramdiskA.sha256}`);
    expect(ramdiskB).toEqual(ramdiskA);
    expect(ramdiskA.size).toBeGreaterThan(10 * 2 ** 20);

    // What a client pins is what `cloister pcrs` reads back from the file.
    const shown = await cloister(['pcrs', join(a(), 'eif', 'cloister.eif'), '--json'], context.engine.docker, undefined);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toBe(readFileSync(join(a(), 'eif', 'pcrs.json'), 'utf8'));
    const policy = JSON.parse(readFileSync(join(a(), 'eif', 'policy.json'), 'utf8'));
    expect(policy.pcrs).toEqual({ 0: [pcrsA.PCR0], 1: [pcrsA.PCR1], 2: [pcrsA.PCR2] });
  });

  it('cloister verify-build: a match against its own pcrs.json, then a mismatch naming PCR2 after one byte of one source file changes', async () => {
    const pcrs = join(a(), 'eif', 'pcrs.json');
    const flags = ['--network', 'none', '--blobs', BLOBS, '--kernel', kernel, ...pinned];
    const same = await step('cloister verify-build of the unchanged clone', () =>
      cloister(['verify-build', a(), '--against', pcrs, ...flags], context.engine.docker, undefined),
    );
    expect(same.stdout).toMatch(/^✓ MATCH: /);
    expect(same.status).toBe(0);

    const file = join(a(), 'enclave', 'main.ts');
    const text = readFileSync(file, 'utf8');
    const comment = text.indexOf(' * `node dist/enclave/main.js');
    expect(comment).toBeGreaterThan(0);
    const at = text.indexOf('node', comment);
    writeFileSync(file, `${text.slice(0, at)}N${text.slice(at + 1)}`);
    const changed = await step('cloister verify-build after one byte changed', () =>
      cloister(['verify-build', a(), '--against', pcrs, ...flags], context.engine.docker, undefined),
    );
    expect(changed.status).toBe(1);
    expect(changed.stdout).toMatch(/^✗ MISMATCH: /);
    expect(changed.stdout).toMatch(/✓ PCR1 /);
    expect(changed.stdout).toMatch(/✗ PCR2 /);
    expect(changed.stdout).toMatch(/differs: PCR0, PCR2\n/);
  });
});
