import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { stringify } from 'yaml';
import { cloister } from './run';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'cloister.config.json');
const document = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
const DIGEST = configDigest(document).toString('hex');
const PCR16 = pcr16For(configDigest(document)).toString('hex');

/** The same value with every object's keys in reverse order. */
const reversed = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(reversed)
    : typeof value === 'object' && value !== null
      ? Object.fromEntries(
          Object.entries(value)
            .reverse()
            .map(([k, v]) => [k, reversed(v)]),
        )
      : value;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-config-digest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cloister config digest', () => {
  it('prints the digest and the PCR16 it yields', async () => {
    const { status, stdout } = await cloister('config', 'digest', EXAMPLE);
    expect(status).toBe(0);
    expect(stdout).toBe(`config  ${EXAMPLE}\ndigest  ${DIGEST}\nPCR16   ${PCR16}\n`);
  });

  it('gives a YAML file with the same content, keys in another order, the same digest; --json', async () => {
    const yaml = join(dir, 'cloister.config.yaml');
    writeFileSync(yaml, stringify(reversed(document)));
    const { status, stdout } = await cloister('config', 'digest', yaml, '--json');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ file: yaml, digest: DIGEST, pcr16: PCR16 });
  });

  it('exits 2 naming the field for an invalid configuration, and for a missing file', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ users: [{ name: 'alice', role: 'member', key: 'sha256:nothex' }] }));
    const invalid = await cloister('config', 'digest', bad);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toMatch(/users\.0\.key/);

    const missing = await cloister('config', 'digest', join(dir, 'absent.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});
