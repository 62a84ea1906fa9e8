import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { indexTar } from '../../image/tar-index';

/** One entry of a tar archive, as far as an image's reproducibility goes. */
export interface TarEntry {
  /** Relative, without `./` or a trailing slash. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  /** Permission bits, with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** The target of a link. */
  link?: string;
  /** SHA-256 (hex) of a file's contents. */
  sha256?: string;
  size: number;
}

/**
 * Every entry of the tar archive `file`, as the image builder reads it (`indexTar`), with the
 * SHA-256 of each file's contents, read a chunk at a time: a whole image never sits in memory.
 */
export function tarListing(file: string): TarEntry[] {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    return indexTar(fd).map((entry) => ({
      path: entry.name,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: entry.mtime,
      ...(entry.linkname && { link: entry.linkname }),
      ...(entry.type === 'file' && { sha256: digestOf(fd, entry.offset, entry.size, chunk) }),
      size: entry.size,
    }));
  } finally {
    closeSync(fd);
  }
}

function digestOf(fd: number, offset: number, size: number, chunk: Buffer): string {
  const hash = createHash('sha256');
  for (let done = 0; done < size;) {
    const got = readSync(fd, chunk, 0, Math.min(chunk.length, size - done), offset + done);
    if (got <= 0) throw new Error(`the archive ends inside a file at byte ${offset + done}`);
    hash.update(chunk.subarray(0, got));
    done += got;
  }
  return hash.digest('hex');
}

/**
 * What a container adds to its image's files when it is created (its "init layer"), and which
 * `docker export` therefore shows with the time of that moment: the entries themselves, and /etc,
 * whose time changes as they are made in it.
 */
export const INIT_LAYER = {
  entries: ['.dockerenv', 'etc/hostname', 'etc/hosts', 'etc/mtab', 'etc/resolv.conf', 'proc', 'sys', 'dev'],
  /** Everything below these. */
  below: ['dev/'],
  /** Entries compared without their time. */
  timeOnly: ['etc'],
} as const;

function isInitLayer(path: string): boolean {
  return (INIT_LAYER.entries as readonly string[]).includes(path) || INIT_LAYER.below.some((prefix) => path.startsWith(prefix));
}

/** An entry as one comparable line: type, mode, owner, time, size, digest or link target, path. */
export function describeEntry(entry: TarEntry, withTime = true): string {
  const mode = entry.mode.toString(8).padStart(4, '0');
  const time = withTime ? String(entry.mtime) : '-';
  return `${entry.type} ${mode} ${entry.uid}:${entry.gid} ${time} ${entry.size} ${entry.sha256 ?? entry.link ?? '-'} ${entry.path}`;
}

/**
 * How two exports of containers differ, init-layer entries aside: one line per entry that is in
 * only one of them (`- …` or `+ …`) or differs in any of type, mode, owner, time, size, contents
 * or link target. Empty when they are the same.
 */
export function exportDifferences(a: TarEntry[], b: TarEntry[]): string[] {
  const lines = (entries: TarEntry[]) =>
    new Map(
      entries
        .filter((entry) => !isInitLayer(entry.path))
        .map((entry) => [entry.path, describeEntry(entry, !(INIT_LAYER.timeOnly as readonly string[]).includes(entry.path))]),
    );
  const left = lines(a);
  const right = lines(b);
  const differences: string[] = [];
  for (const path of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const [l, r] = [left.get(path), right.get(path)];
    if (l === r) continue;
    if (l !== undefined) differences.push(`- ${l}`);
    if (r !== undefined) differences.push(`+ ${r}`);
  }
  return differences;
}
