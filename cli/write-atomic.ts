import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes `text` to `path` so that a reader sees the old file or the whole new one, never a part. */
export function writeFileAtomic(path: string, text: string): void {
  const partial = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(partial, text);
    renameSync(partial, path);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
}
