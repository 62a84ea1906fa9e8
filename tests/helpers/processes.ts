import { readFileSync } from 'node:fs';

/**
 * Whether a process with this id runs. A zombie (exited, not yet reaped by a parent that may be a
 * container's init that never reaps) does not count: on Linux its state in /proc says so.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}
