import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../../contract/load-config';
import { parseAddress } from '../../transport/address';
import { type TestBuild, buildForTests } from '../enclave/support/build';
import { type SupervisorProcess, startSupervisor } from '../enclave/support/supervisor';

/*
 * The image's final stage, assembled without Docker by scripts/assemble-rootfs.js (the script the
 * Dockerfile's build stage runs): deterministic, complete enough for the supervisor to start from it.
 */

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'assemble-rootfs.js');
const CONFIG = join(ROOT, 'examples', 'cloister.config.json');

let build: TestBuild;
let tmp: string;
let checkout: string;
const started: SupervisorProcess[] = [];

/**
 * A checkout as the build stage has it after `npm ci`, the addon build and `npm run build`:
 * package.json and the lockfile, dist/ (a test build: see tests/enclave/support/build.ts),
 * build/Release/*.node, and node_modules (this checkout's, by a link).
 */
beforeAll(() => {
  build = buildForTests();
  tmp = mkdtempSync(join(tmpdir(), 'cloister-rootfs-'));
  checkout = join(tmp, 'checkout');
  mkdirSync(checkout);
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(checkout, file));
  cpSync(build.dir, join(checkout, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  const release = join(ROOT, 'build', 'Release');
  if (existsSync(release)) {
    mkdirSync(join(checkout, 'build', 'Release'), { recursive: true });
    for (const name of readdirSync(release).filter((n) => n.endsWith('.node'))) copyFileSync(join(release, name), join(checkout, 'build', 'Release', name));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((sv) => sv.stop()));
  build?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

function assemble(out: string, env: NodeJS.ProcessEnv = {}): { manifest: string; stdout: string } {
  const r = spawnSync(process.execPath, [SCRIPT, '--from', checkout, '--out', out], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`assemble-rootfs exited ${r.status}: ${r.stderr}`);
  return { manifest: readFileSync(`${out}.manifest`, 'utf8'), stdout: r.stdout };
}

/** Every entry of a tree, sorted: path, kind, mode, mtime in ms, and the bytes or link target. */
function snapshot(dir: string, rel = ''): [string, string, number, number, Buffer | string][] {
  const rows: [string, string, number, number, Buffer | string][] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const full = join(dir, path);
    const stat = lstatSync(full);
    if (stat.isSymbolicLink()) rows.push([path, 'link', stat.mode, stat.mtimeMs, readFileSync(full, 'utf8')]);
    else if (stat.isDirectory()) rows.push([path, 'dir', stat.mode, stat.mtimeMs, ''], ...snapshot(dir, path));
    else rows.push([path, 'file', stat.mode, stat.mtimeMs, readFileSync(full)]);
  }
  return rows;
}

describe('scripts/assemble-rootfs.js', () => {
  let a: string;
  let first: { manifest: string; stdout: string };

  beforeAll(() => {
    a = join(tmp, 'a');
    first = assemble(a, { SOURCE_DATE_EPOCH: '1700000000' });
  }, 60_000);

  it('assembles exactly dist/, the production node_modules, build/Release/*.node and package.json', () => {
    expect(readdirSync(a).sort()).toEqual(
      existsSync(join(checkout, 'build')) ? ['build', 'dist', 'node_modules', 'package.json'] : ['dist', 'node_modules', 'package.json'],
    );
    const paths = first.manifest
      .trim()
      .split('\n')
      .map((line) => (line.startsWith('symlink') ? line.split(/\s+/)[1]! : line.split(/\s+/)[3]!));
    expect(paths).toContain('dist/enclave/main.js');
    expect(paths).toContain('node_modules/express/package.json');
    expect(paths).toContain('node_modules/@aws-sdk/client-kms/package.json');
    // Development dependencies are left out, as `npm prune --omit=dev` does.
    for (const dev of ['jest', 'typescript', 'ts-jest', 'supertest', 'fast-check']) {
      expect(paths.filter((p) => p.startsWith(`node_modules/${dev}/`))).toEqual([]);
    }
    expect(paths.filter((p) => p.startsWith('build/') && !/^build\/Release\/[^/]+\.node$/.test(p))).toEqual([]);
    expect([...paths].sort()).toEqual(paths);
    // Each manifest line's digest is the file's.
    const line = first.manifest.split('\n').find((l) => l.endsWith('  package.json'))!;
    expect(line.split(/\s+/)[0]).toBe(
      createHash('sha256')
        .update(readFileSync(join(checkout, 'package.json')))
        .digest('hex'),
    );
  });

  it('gives fixed times (SOURCE_DATE_EPOCH) and fixed modes to every entry', () => {
    for (const [path, kind, mode, mtime] of snapshot(a)) {
      expect({ path, mtime }).toEqual({ path, mtime: 1_700_000_000_000 });
      if (kind === 'dir') expect({ path, mode: mode & 0o7777 }).toEqual({ path, mode: 0o755 });
      if (kind === 'file') expect({ path, ok: [0o644, 0o755].includes(mode & 0o7777) }).toEqual({ path, ok: true });
    }
    expect(lstatSync(a).mtimeMs).toBe(1_700_000_000_000);
  });

  it('is deterministic: a second assembly is byte-identical (manifest, bytes, modes, times)', () => {
    const b = join(tmp, 'b');
    const second = assemble(b, { SOURCE_DATE_EPOCH: '1700000000' });
    expect(second.manifest).toBe(first.manifest);
    expect(second.stdout.split('tree sha256 ')[1]).toBe(first.stdout.split('tree sha256 ')[1]);
    const left = snapshot(a);
    const right = snapshot(b);
    expect(right.length).toBe(left.length);
    for (let i = 0; i < left.length; i++) {
      const [pa, ka, ma, ta, ba] = left[i]!;
      const [pb, kb, mb, tb, bb] = right[i]!;
      if (pa !== pb || ka !== kb || ma !== mb || ta !== tb || !(Buffer.isBuffer(ba) && Buffer.isBuffer(bb) ? ba.equals(bb) : ba === bb)) {
        throw new Error(`the assemblies differ at ${pa} / ${pb}`);
      }
    }
    rmSync(b, { recursive: true, force: true });
  }, 60_000);

  it('defaults the time to 0 and refuses a non-empty output folder', () => {
    const c = join(tmp, 'c');
    assemble(c, { SOURCE_DATE_EPOCH: undefined });
    expect(lstatSync(join(c, 'package.json')).mtimeMs).toBe(0);
    const again = spawnSync(process.execPath, [SCRIPT, '--from', checkout, '--out', c], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists and is not empty/);
    rmSync(c, { recursive: true, force: true });
  }, 60_000);

  it('starts the supervisor from the assembled folder in local mode', async () => {
    const sv = startSupervisor(join(a, 'dist'), ['--nsm', 'dev', '--dev-dir', join(tmp, 'dev'), '--config', CONFIG, '--ingress', 'tcp://127.0.0.1:0'], {
      ...process.env,
      NODE_PATH: '',
    });
    started.push(sv);
    const ready = await sv.ready;
    expect(parseAddress(ready.ingress).kind).toBe('tcp');
    expect(ready.config).toBe(loadConfigFile(CONFIG).digest.toString('hex'));
    await sv.stop();
  }, 30_000);
});
