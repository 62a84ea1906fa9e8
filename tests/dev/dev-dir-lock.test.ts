import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevDirBusyError, lockDevDir } from '../../dev/dev-dir-lock';
import { cloister } from '../cli/run';

let dir: string;
let holder: ChildProcess | undefined;

beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'cloister-lock-')), 'dev');
});

afterEach(() => {
  holder?.kill('SIGKILL');
  holder = undefined;
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

/** A lock file as a running `cloister dev` in another process leaves it. */
function heldByAnotherProcess(): number {
  holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  lockFileSays(holder.pid!);
  return holder.pid!;
}

function lockFileSays(pid: number): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'dev.lock'), `${pid}\n`);
}

describe('the development directory lock', () => {
  it('refuses a directory a live process holds, naming the process and changing nothing', () => {
    const pid = heldByAnotherProcess();
    expect(() => lockDevDir(dir)).toThrow(DevDirBusyError);
    expect(() => lockDevDir(dir)).toThrow(new RegExp(`process ${pid}.*--dir`));
    expect(readFileSync(join(dir, 'dev.lock'), 'utf8')).toBe(`${pid}\n`);
  });

  it('refuses a second stack of this process on the same directory until the first releases it', () => {
    const lock = lockDevDir(dir);
    expect(() => lockDevDir(dir)).toThrow(DevDirBusyError);
    lock.release();
    expect(existsSync(join(dir, 'dev.lock'))).toBe(false);
    lockDevDir(dir).release();
  });

  it('takes over a lock whose process is gone', () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    lockFileSays(gone);
    const lock = lockDevDir(dir);
    expect(readFileSync(join(dir, 'dev.lock'), 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });

  it('takes over a lock file that names no process', () => {
    lockFileSays(0);
    writeFileSync(join(dir, 'dev.lock'), 'not a pid');
    lockDevDir(dir).release();
    expect(existsSync(join(dir, 'dev.lock'))).toBe(false);
  });

  it('does not remove a lock another process took after this one released', () => {
    const lock = lockDevDir(dir);
    lock.release();
    const pid = heldByAnotherProcess();
    lock.release();
    expect(readFileSync(join(dir, 'dev.lock'), 'utf8')).toBe(`${pid}\n`);
  });

  it('makes cloister dev exit 2 before it writes the policy or the configuration', async () => {
    heldByAnotherProcess();
    const { status, stderr } = await cloister('dev', '--dir', dir, '--port', '1');
    expect(status).toBe(2);
    expect(stderr).toMatch(/Another local stack \(process \d+\) is running from/);
    expect(readdirSync(dir)).toEqual(['dev.lock']);
  });
});
