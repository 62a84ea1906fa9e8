import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configDigest } from '../../contract/config-digest';
import { AttestedAgent } from '../../client/agent';
import { attest } from '../../client/attest';
import { generateIdentity, loadIdentity } from '../../client/identity';
import { parsePolicy } from '../../client/policy';
import { CommandError, REPO_ROOT, type TarEntry, docker, dockerBuild, exportDifferences, exportImage, imageTestContext, removeImages, tarListing } from '.';
import { freePort } from '../../transport/free-port';

/*
 * The repository's Dockerfile, built for real with the stand-in base images, and the image run as
 * a user would run it. One image per builder serves every test; each piece is made on first use,
 * so that any test also runs alone.
 */

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain CommonJS script, without type declarations
const { expectedPackages } = require('../../scripts/check-install.js') as {
  expectedPackages(lock: unknown, omit: Set<string>): [string, LockEntry][];
};

const ENTRYPOINT = [
  '/usr/local/bin/node',
  '/app/dist/enclave/main.js',
  '--config-from',
  'vsock://4294967295:5002',
  '--log-sink',
  'vsock://3:5003',
  '--app-module',
  '/app/dist/examples/index.js',
];
const context = imageTestContext();
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const CLASSIC = `cloister-image-test:classic-${RUN_ID}`;
const BUILDKIT = `cloister-image-test:buildkit-${RUN_ID}`;
/** A file in the build context's .cloister/, which must never reach the image. */
const MARKER = `image-test-marker-${RUN_ID}`;
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

let tmp: string;

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

const classicBuild = once(() => dockerBuild(REPO_ROOT, CLASSIC, { builder: 'classic', context }));
// Built after the classic one (whatever became of it), so the two are apart in time.
const buildkitBuild = once(async () => {
  await classicBuild().catch(() => undefined);
  return dockerBuild(REPO_ROOT, BUILDKIT, { builder: 'buildkit', context });
});
const listingOf = (build: () => Promise<{ tag: string }>, name: string) =>
  once(async () => {
    const { tag } = await build();
    const file = join(tmp, `${name}.tar`);
    await exportImage(tag, file, context);
    const listing = tarListing(file);
    rmSync(file);
    return listing;
  });
const classicListing = listingOf(classicBuild, 'classic');
const buildkitListing = listingOf(buildkitBuild, 'buildkit');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-image-test-'));
  mkdirSync(join(REPO_ROOT, '.cloister'), { recursive: true });
  writeFileSync(join(REPO_ROOT, '.cloister', MARKER), 'local state that must stay out of the image\n');
});

afterAll(async () => {
  rmSync(join(REPO_ROOT, '.cloister', MARKER), { force: true });
  await removeImages([CLASSIC, BUILDKIT], context);
  rmSync(tmp, { recursive: true, force: true });
});

describe('the enclave image, built from this checkout on the stand-in base images', () => {
  it('builds with the classic builder, --no-cache and --network none, checking what npm installed', async () => {
    const { log } = await classicBuild();
    expect(log).toMatch(/check-install: the \d+ packages of package-lock\.json are installed/);
    expect(log).toMatch(/check-install: the \d+ packages of package-lock\.json \(omitting dev\) are installed/);
  });

  it('runs the supervisor by absolute paths, with only a command and an environment (all an EIF keeps)', async () => {
    await classicBuild();
    const { stdout } = await docker(['image', 'inspect', '--format', '{{json .Config}}', CLASSIC], { context });
    const config = JSON.parse(stdout) as { Entrypoint: string[]; Cmd: string[] | null; Env: string[]; WorkingDir: string };
    expect(config.Entrypoint).toEqual(ENTRYPOINT);
    expect(config.Cmd).toBeNull();
    expect(config.WorkingDir).toBe('');
    expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'SOURCE_DATE_EPOCH=0']));
  });

  it("builds with BuildKit (the engine's own, finding the imported base images locally), --no-cache and --network none", async () => {
    const { log } = await buildkitBuild();
    expect(log).toMatch(/check-install: the \d+ packages of package-lock\.json \(omitting dev\) are installed/);
  });

  it('gives the same files, modes, owners and times from two --no-cache builds made apart in time (classic, then BuildKit)', async () => {
    const [classic, buildkit] = [await classicListing(), await buildkitListing()];
    expect(exportDifferences(classic, buildkit)).toEqual([]);
    const app = classic.filter((entry) => entry.path === 'app' || entry.path.startsWith('app/'));
    expect(app.length).toBeGreaterThan(100);
    // Everything the final stage adds, /app itself included, has the time SOURCE_DATE_EPOCH (0) and root as owner.
    expect(app.filter((entry) => entry.mtime !== 0 || entry.uid !== 0 || entry.gid !== 0).map((entry) => entry.path)).toEqual([]);
  });

  it('loads its native addons in a container without network', async () => {
    await classicBuild();
    const script = `const fs = require('fs'); const dir = '/app/build/Release';
      console.log(JSON.stringify(Object.fromEntries(fs.readdirSync(dir).map((f) => [f, Object.keys(require(dir + '/' + f)).sort()]))));`;
    const { stdout } = await docker(['run', '--rm', '--network', 'none', '--entrypoint', '/usr/local/bin/node', CLASSIC, '-e', script], {
      context,
      timeoutMs: 60_000,
    });
    const addons = JSON.parse(stdout) as Record<string, string[]>;
    expect(Object.keys(addons).sort()).toEqual(['cloister_nsm.node', 'cloister_vsock.node']);
    expect(addons['cloister_nsm.node']).toEqual(expect.arrayContaining(['open', 'request', 'close']));
    expect(addons['cloister_vsock.node']).toEqual(expect.arrayContaining(['listen', 'connect', 'close']));
  });

  it('starts the supervisor in development mode, and it answers an attested GET /hello from the host', async () => {
    await classicBuild();
    const shared = join(tmp, 'supervisor');
    mkdirSync(shared);
    const { keyLine } = await generateIdentity('alice', join(tmp, 'alice'));
    const document = { users: [{ name: 'alice', role: 'member', key: keyLine }], outbound: [], apps: { millionaire: { role: 'member' } } };
    writeFileSync(join(shared, 'config.json'), JSON.stringify(document));
    const pcr0 = createHash('sha384').update('cloister image test').digest('hex');
    const port = await freePort();
    const name = `cloister-image-test-supervisor-${RUN_ID}`;
    // The host's network (the engine has no bridge), so the ingress on the container's loopback is the host's.
    await docker(
      [
        'run',
        '--detach',
        '--name',
        name,
        '--network',
        'host',
        '--user',
        `${process.getuid!()}:${process.getgid!()}`,
        '--volume',
        `${shared}:/cloister`,
        '--entrypoint',
        '/usr/local/bin/node',
        CLASSIC,
        '/app/dist/enclave/main.js',
        '--config',
        '/cloister/config.json',
        '--nsm',
        'dev',
        '--dev-dir',
        '/cloister/dev',
        '--pcr0',
        pcr0,
        '--ingress',
        `tcp://127.0.0.1:${port}`,
        '--ready-file',
        '/cloister/ready',
        '--app-module',
        '/app/dist/examples/index.js',
      ],
      { context },
    );
    try {
      const deadline = Date.now() + 60_000;
      while (!existsSync(join(shared, 'ready'))) {
        const { stdout: running } = await docker(['inspect', '--format', '{{.State.Running}}', name], { context });
        if (running.trim() !== 'true' || Date.now() > deadline) {
          const { stdout, stderr } = await docker(['logs', name], { context });
          throw new Error(`the supervisor is ${running.trim() === 'true' ? 'not ready after 60 s' : 'no longer running'}:\n${stdout}${stderr}`);
        }
        await sleep(200);
      }
      const policy = parsePolicy({ root: 'dev/root/cert.pem', pcrs: { 0: [pcr0] }, config: 'config.json' }, shared);
      const url = `https://127.0.0.1:${port}`;
      const server = await attest(url, policy);
      expect(server.configDigest).toBe(configDigest(document).toString('hex'));

      const agent = new AttestedAgent({ policy, identity: loadIdentity(join(tmp, 'alice')) });
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${url}/hello`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (text: string) => (body += text));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.setTimeout(10_000, () => req.destroy(new Error('GET /hello timed out')));
        req.on('error', reject).end();
      });
      agent.destroy();
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ name: 'alice', role: 'member' });
    } finally {
      await docker(['rm', '--force', name], { context });
    }
  });

  it('exits non-zero at once, saying why, when its ENTRYPOINT runs where the kernel has no vsock', async () => {
    await classicBuild();
    // This machine's kernel has AF_VSOCK, and a container shares it; a seccomp rule makes socket(AF_VSOCK)
    // fail as it does on a kernel without vsock (EAFNOSUPPORT), everything else allowed.
    const AF_VSOCK = 40;
    const EAFNOSUPPORT = 97;
    const profile = join(tmp, 'no-vsock.json');
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: EAFNOSUPPORT, args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_EQ' }] }],
      }),
    );
    const started = Date.now();
    const failure = await docker(['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${profile}`, CLASSIC], { context, timeoutMs: 60_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(CommandError);
    expect((failure as CommandError).exitCode).not.toBe(0);
    expect((failure as CommandError).stderr).toMatch(/cannot listen on vsock:\/\/4294967295:5002: this kernel has no AF_VSOCK support/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('holds every production package of the lockfile, no dev dependency and nothing from .cloister/', async () => {
    const paths = new Set((await classicListing()).map((entry: TarEntry) => entry.path));
    const production = expectedPackages(lock, new Set(['dev'])).map(([key]) => key);
    expect(production.filter((key) => !paths.has(`app/${key}/package.json`))).toEqual([]);
    const dev = Object.entries(lock.packages)
      .filter(([key, entry]) => key.startsWith('node_modules/') && entry.dev)
      .map(([key]) => key);
    expect(dev.length).toBeGreaterThan(0);
    expect(dev.filter((key) => paths.has(`app/${key}`))).toEqual([]);
    expect([...paths].filter((path) => path.split('/').includes('.cloister') || path.endsWith(MARKER))).toEqual([]);
  });
});
