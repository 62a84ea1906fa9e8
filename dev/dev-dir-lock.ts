import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodedError } from '../contract/coded-error';

/** Another local stack runs from the same development directory. */
export class DevDirBusyError extends CodedError<'DEV_DIR_BUSY'> {
  constructor(message: string) {
    super('DEV_DIR_BUSY', message);
  }
}

const LOCK_FILE = 'dev.lock';

/**
 * Claims `dir` for this process's local stack until `release`. A second stack on the same
 * directory would rewrite the policy and configuration the first one serves and then fail on its
 * sockets, so it is refused before it touches anything. A lock left by a process that is gone is
 * taken over.
 */
export function lockDevDir(dir: string): { release(): void } {
  // Private, as prepareDevEnvironment makes it: the users' keys go in it.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = holderOf(path);
      if (holder !== undefined && isAlive(holder)) {
        throw new DevDirBusyError(
          `Another local stack (process ${holder}) is running from ${dir}; stop it first, or give this one its own directory with --dir.`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  return {
    release() {
      if (holderOf(path) === process.pid) rmSync(path, { force: true });
    },
  };
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
