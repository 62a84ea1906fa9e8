import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

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

export class TarFormatError extends Error {
  constructor(file: string, offset: number, what: string) {
    super(`${file}: not a tar archive we can read at byte ${offset}: ${what}`);
    this.name = 'TarFormatError';
  }
}

const BLOCK = 512;
const TYPES: Record<string, TarEntry['type']> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/**
 * Every entry of the tar archive `file` (ustar, with the PAX and GNU long-name extensions that
 * `docker export` and GNU tar write), with the SHA-256 of each file's contents. Reads the archive
 * in one pass, a block at a time: a whole image never sits in memory.
 */
export function tarListing(file: string): TarEntry[] {
  const fd = openSync(file, 'r');
  try {
    return readEntries(file, fd);
  } finally {
    closeSync(fd);
  }
}

function readEntries(file: string, fd: number): TarEntry[] {
  const entries: TarEntry[] = [];
  const header = Buffer.alloc(BLOCK);
  const chunk = Buffer.alloc(1 << 20);
  let offset = 0;
  // Extended attributes that apply to the next entry only (PAX 'x', GNU 'L' and 'K').
  let pending: Record<string, string> = {};
  for (;;) {
    if (readSync(fd, header, 0, BLOCK, offset) < BLOCK) throw new TarFormatError(file, offset, 'the archive ends inside a header');
    if (header.every((byte) => byte === 0)) return entries;
    if (!checksumMatches(header)) throw new TarFormatError(file, offset, 'bad header checksum');
    const flag = String.fromCharCode(header[156]!);
    const size = Number(pending.size ?? numberField(header, 124, 12));
    offset += BLOCK;
    const hash = createHash('sha256');
    const data: Buffer[] = [];
    const keepData = flag === 'x' || flag === 'L' || flag === 'K';
    for (let done = 0; done < size;) {
      const want = Math.min(chunk.length, size - done);
      const got = readSync(fd, chunk, 0, want, offset + done);
      if (got <= 0) throw new TarFormatError(file, offset + done, 'the archive ends inside an entry');
      hash.update(chunk.subarray(0, got));
      if (keepData) data.push(Buffer.from(chunk.subarray(0, got)));
      done += got;
    }
    offset += Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x') {
      pending = { ...pending, ...paxRecords(Buffer.concat(data)) };
    } else if (flag === 'L' || flag === 'K') {
      pending = { ...pending, [flag === 'L' ? 'path' : 'linkpath']: Buffer.concat(data).toString('utf8').replace(/\0+$/, '') };
    } else if (flag === 'g') {
      // Global PAX attributes: comments and defaults that docker export does not write.
    } else {
      const type = TYPES[flag];
      if (!type) throw new TarFormatError(file, offset, `entry type "${flag}"`);
      const prefix = text(header, 345, 155);
      const name = pending.path ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
      const link = pending.linkpath ?? text(header, 157, 100);
      entries.push({
        path: name.replace(/^(\.\/)+/, '').replace(/\/+$/, ''),
        type,
        mode: numberField(header, 100, 8) & 0o7777,
        uid: Number(pending.uid ?? numberField(header, 108, 8)),
        gid: Number(pending.gid ?? numberField(header, 116, 8)),
        mtime: Math.floor(Number(pending.mtime ?? numberField(header, 136, 12))),
        ...(link && { link }),
        ...(type === 'file' && { sha256: hash.digest('hex') }),
        size,
      });
      pending = {};
    }
  }
}

function text(header: Buffer, at: number, length: number): string {
  const field = header.subarray(at, at + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** Octal, or base-256 when the first byte's high bit is set (GNU's form for large values). */
function numberField(header: Buffer, at: number, length: number): number {
  if (header[at]! & 0x80) {
    let value = header[at]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + header[at + i]!;
    return value;
  }
  const digits = text(header, at, length).trim();
  return digits ? parseInt(digits, 8) : 0;
}

function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === numberField(header, 148, 8);
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const length = parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (space === -1 || !(length > 0)) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
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
