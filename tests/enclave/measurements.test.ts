import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { developmentPcrs } from '../../enclave/local/measurements';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-measure-'));
  mkdirSync(join(dir, 'enclave'));
  writeFileSync(join(dir, 'enclave', 'main.js'), 'console.log("v1");\n');
  writeFileSync(join(dir, 'index.js'), 'module.exports = 1;\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('developmentPcrs', () => {
  it('gives 48-byte PCR0, PCR1 and PCR2, the same for the same code', () => {
    const pcrs = developmentPcrs(dir);
    for (const value of Object.values(pcrs)) expect(value).toMatch(/^[0-9a-f]{96}$/);
    expect(developmentPcrs(dir)).toEqual(pcrs);
  });

  it('changes PCR0, and only PCR0, when a file of the code changes, is added or is renamed', () => {
    const before = developmentPcrs(dir);
    writeFileSync(join(dir, 'enclave', 'main.js'), 'console.log("v2");\n');
    const edited = developmentPcrs(dir);
    expect(edited[0]).not.toBe(before[0]);
    expect([edited[1], edited[2]]).toEqual([before[1], before[2]]);

    writeFileSync(join(dir, 'extra.js'), '');
    const added = developmentPcrs(dir);
    expect(added[0]).not.toBe(edited[0]);

    renameSync(join(dir, 'extra.js'), join(dir, 'other.js'));
    expect(developmentPcrs(dir)[0]).not.toBe(added[0]);
  });
});
