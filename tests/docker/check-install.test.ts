import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * scripts/check-install.js, which the Dockerfile runs after `npm ci` and after `npm prune`: an
 * install step that installed less than the lockfile (or something else) must stop the build.
 */

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'check-install.js');
const OTHER_OS = process.platform === 'linux' ? 'darwin' : 'linux';

interface Entry {
  version: string;
  name?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  os?: string[];
  cpu?: string[];
}

const LOCK: Record<string, Entry> = {
  'node_modules/express': { version: '5.3.0' },
  'node_modules/@scope/lib': { version: '1.0.0' },
  'node_modules/express/node_modules/debug': { version: '4.4.0' },
  'node_modules/jest': { version: '29.7.0', dev: true },
  'node_modules/both': { version: '2.0.0', devOptional: true },
  'node_modules/native-here': { version: '1.0.0', optional: true, os: [process.platform], cpu: [process.arch] },
  'node_modules/native-elsewhere': { version: '1.0.0', optional: true, os: [OTHER_OS] },
  'node_modules/not-on-this-cpu': { version: '1.0.0', optional: true, cpu: [`!${process.arch}`] },
  'node_modules/aliased': { version: '3.0.0', name: 'real-name' },
};

let tmp: string;
let checkouts = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-check-install-'));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A checkout with LOCK as its lockfile and the packages `installed` gives (key: version, or false for none). */
function checkout(installed: Record<string, string | false>): string {
  const dir = join(tmp, `checkout-${checkouts++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'x', lockfileVersion: 3, packages: { '': { name: 'x' }, ...LOCK } }));
  for (const [key, version] of Object.entries(installed)) {
    if (version === false) continue;
    mkdirSync(join(dir, key), { recursive: true });
    const name = LOCK[key]?.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    writeFileSync(join(dir, key, 'package.json'), JSON.stringify({ name, version }));
  }
  return dir;
}

/** Every package of LOCK at its version, but for `changes`. */
const everything = (changes: Record<string, string | false> = {}) => ({
  ...Object.fromEntries(Object.entries(LOCK).map(([key, entry]) => [key, entry.version])),
  ...changes,
});

function check(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, '--from', dir, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('check-install', () => {
  it('passes when every package the lockfile installs here is there, optional ones for other platforms aside', () => {
    const dir = checkout(everything({ 'node_modules/native-elsewhere': false, 'node_modules/not-on-this-cpu': false }));
    expect(check(dir)).toEqual({ status: 0, stdout: 'check-install: the 7 packages of package-lock.json are installed\n', stderr: '' });
  });

  it('fails naming the first missing package when npm installed nothing, and counts the rest', () => {
    const { status, stderr } = check(checkout({}));
    expect(status).toBe(1);
    expect(stderr).toMatch(
      /^check-install: node_modules\/express is missing: package-lock\.json says express@5\.3\.0 is installed there \(and 6 more of the 7 packages\)/,
    );
    expect(stderr).toMatch(/check that the npm registry \(or the npm cache, offline\) was reachable/);
  });

  it('fails on a nested package, an optional one made for this platform, or one of another version or name', () => {
    expect(check(checkout(everything({ 'node_modules/express/node_modules/debug': false }))).stderr).toMatch(
      /node_modules\/express\/node_modules\/debug is missing: package-lock\.json says debug@4\.4\.0/,
    );
    expect(check(checkout(everything({ 'node_modules/native-here': false }))).stderr).toMatch(/node_modules\/native-here is missing/);
    expect(check(checkout(everything({ 'node_modules/@scope/lib': '1.0.1' }))).stderr).toMatch(
      /node_modules\/@scope\/lib holds @scope\/lib@1\.0\.1, but package-lock\.json says @scope\/lib@1\.0\.0/,
    );
    const aliased = checkout(everything());
    writeFileSync(join(aliased, 'node_modules/aliased/package.json'), JSON.stringify({ name: 'aliased', version: '3.0.0' }));
    expect(check(aliased)).toMatchObject({ status: 1, stderr: expect.stringMatching(/holds aliased@3\.0\.0, but package-lock\.json says real-name@3\.0\.0/) });
  });

  it('with --omit=dev, as after `npm prune --omit=dev`: dev packages may be gone, the rest (devOptional too) may not', () => {
    const pruned = { 'node_modules/jest': false as const, 'node_modules/native-elsewhere': false as const, 'node_modules/not-on-this-cpu': false as const };
    expect(check(checkout(everything(pruned)), '--omit=dev')).toMatchObject({
      status: 0,
      stdout: 'check-install: the 6 packages of package-lock.json (omitting dev) are installed\n',
    });
    expect(check(checkout(everything({ ...pruned, 'node_modules/both': false })), '--omit', 'dev')).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/node_modules\/both is missing/),
    });
    expect(check(checkout(everything(pruned)))).toMatchObject({ status: 1, stderr: expect.stringMatching(/node_modules\/jest is missing/) });
  });

  it('refuses what it does not understand (exit 2) and a checkout without a lockfile (exit 1)', () => {
    expect(check(tmp, '--omit=everything')).toMatchObject({ status: 2, stderr: expect.stringMatching(/--omit takes dev, optional, peer, not "everything"/) });
    expect(check(tmp, '--force')).toMatchObject({ status: 2, stderr: expect.stringMatching(/Unknown option '--force'/) });
    expect(check(tmp)).toMatchObject({ status: 1, stderr: expect.stringMatching(/cannot read .*package-lock\.json/) });
  });
});
