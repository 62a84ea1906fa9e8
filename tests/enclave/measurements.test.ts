import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { developmentPcrs } from '../../dev/local/measurements';
import type { HostedApp } from '../../enclave/hosted-app';

let dir: string;
let appDir: string;
let app: HostedApp;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-measure-'));
  mkdirSync(join(dir, 'enclave'));
  writeFileSync(join(dir, 'enclave', 'main.js'), 'console.log("v1");\n');
  writeFileSync(join(dir, 'index.js'), 'module.exports = 1;\n');
  appDir = mkdtempSync(join(tmpdir(), 'cloister-measure-app-'));
  writeFileSync(join(appDir, 'app.js'), 'module.exports = () => () => {};\n');
  app = { kind: 'module', path: join(appDir, 'app.js') };
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(appDir, { recursive: true, force: true });
});

describe('developmentPcrs', () => {
  it('gives 48-byte PCR0, PCR1 and PCR2, the same for the same code', () => {
    const pcrs = developmentPcrs(dir, app);
    for (const value of Object.values(pcrs)) expect(value).toMatch(/^[0-9a-f]{96}$/);
    expect(developmentPcrs(dir, app)).toEqual(pcrs);
  });

  it("changes PCR0, and only PCR0, when a file of Cloister's code changes, is added or is renamed", () => {
    const before = developmentPcrs(dir, app);
    writeFileSync(join(dir, 'enclave', 'main.js'), 'console.log("v2");\n');
    const edited = developmentPcrs(dir, app);
    expect(edited[0]).not.toBe(before[0]);
    expect([edited[1], edited[2]]).toEqual([before[1], before[2]]);

    writeFileSync(join(dir, 'extra.js'), '');
    const added = developmentPcrs(dir, app);
    expect(added[0]).not.toBe(edited[0]);

    renameSync(join(dir, 'extra.js'), join(dir, 'other.js'));
    expect(developmentPcrs(dir, app)[0]).not.toBe(added[0]);
  });

  it("changes PCR2, and only PCR2, when the app's code changes or another app is named", () => {
    const before = developmentPcrs(dir, app);
    writeFileSync(join(appDir, 'app.js'), 'module.exports = () => (req, res) => res.end();\n');
    const edited = developmentPcrs(dir, app);
    expect(edited[2]).not.toBe(before[2]);
    expect([edited[0], edited[1]]).toEqual([before[0], before[1]]);

    writeFileSync(join(appDir, 'other.js'), 'module.exports = () => () => {};\n');
    const other = developmentPcrs(dir, { kind: 'module', path: join(appDir, 'other.js') });
    expect(other[2]).not.toBe(developmentPcrs(dir, app)[2]);
    const command = developmentPcrs(dir, { kind: 'command', argv: ['node', join(appDir, 'app.js')] });
    const otherCommand = developmentPcrs(dir, { kind: 'command', argv: ['node', join(appDir, 'other.js')] });
    expect(command[2]).not.toBe(otherCommand[2]);
    expect(command[0]).toBe(otherCommand[0]);
  });
});
