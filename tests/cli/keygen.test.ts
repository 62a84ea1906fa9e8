import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIdentity } from '../../client';
import { cloister } from './run';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-keygen-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cloister keygen', () => {
  it('writes key.pem and cert.pem under --out and prints the key: line for the configuration', async () => {
    const out = join(dir, 'alice');
    const { status, stdout } = await cloister('keygen', 'alice', '--out', out);
    expect(status).toBe(0);
    const { keyDigest } = loadIdentity(out);
    expect(stdout).toContain(`- { name: "alice", role: "<role>", key: "${keyDigest}" }`);
    expect(stdout).toContain(join(out, 'key.pem'));
  });

  it('writes to ./<name> by default', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect((await cloister('keygen', 'bob')).status).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir, 'bob', 'key.pem'))).toBe(true);
    expect(existsSync(join(dir, 'bob', 'cert.pem'))).toBe(true);
  });

  it('prints {name, dir, key} with --json', async () => {
    const out = join(dir, 'carol');
    const { status, stdout } = await cloister('keygen', 'carol', '--out', out, '--json');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ name: 'carol', dir: out, key: loadIdentity(out).keyDigest });
  });

  it('refuses to overwrite an identity: exit 2, the key unchanged', async () => {
    const out = join(dir, 'dora');
    expect((await cloister('keygen', 'dora', '--out', out)).status).toBe(0);
    const key = readFileSync(join(out, 'key.pem'), 'utf8');
    const again = await cloister('keygen', 'dora', '--out', out);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/exists: an identity is never overwritten/);
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toBe(key);
  });

  it.each([
    ['a name that is no plain file name, without --out', ['keygen', '../elsewhere'], /not a plain file name.*--out DIR/],
    ['a name with surrounding spaces', ['keygen', ' eve ', '--out', 'unused'], /printable ASCII/],
    ['no name', ['keygen'], /missing required argument/],
  ])('exits 2 for %s', async (_what, argv, message) => {
    const { status, stderr } = await cloister(...argv);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
  });
});
