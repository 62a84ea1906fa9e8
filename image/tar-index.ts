import { fstatSync, readSync } from 'node:fs';
import { ImageError } from './errors';

/*
 * Reads the headers of a tar file (what `docker export` writes: ustar with PAX or GNU long-name
 * extensions) without reading the files' contents: each entry records where its data lies, so
 * the ramdisk writer can copy it later, in any order, from the same file.
 */

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  /** Relative path, no leading `./` or `/`, no trailing `/`. */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, whole seconds since the epoch (a PAX time's fraction dropped). */
  mtime: number;
  size: number;
  /** Where the data starts in the tar file. */
  offset: number;
  /** A link's target. */
  linkname: string;
  devmajor: number;
  devminor: number;
}

const BLOCK = 512;
const TYPES: Record<string, TarEntryType> = {
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
/** Extension headers are read into memory: bounded, since no real path or xattr set is near this. */
const MAX_EXTENSION = 1024 * 1024;

const bad = (offset: number, why: string) =>
  new ImageError(
    'IMAGE_BAD_TAR',
    `the image's file system export is not a valid tar file at byte ${offset}: ${why}. Export it again (docker export) or check the disk.`,
  );

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function number(block: Buffer, start: number, length: number, at: number, field: string): number {
  const raw = block.subarray(start, start + length);
  if (raw[0]! & 0x80) {
    // GNU base-256: big-endian, the first byte's top bit a marker.
    let value = BigInt(raw[0]! & 0x7f);
    for (const byte of raw.subarray(1)) value = (value << 8n) | BigInt(byte);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(at, `the ${field} field is too large`);
    return Number(value);
  }
  const digits = raw
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw bad(at, `the ${field} field "${digits}" is not an octal number`);
  return parseInt(digits, 8);
}

function checksumMatches(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const stored = block
    .subarray(148, 156)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  return /^[0-7]+$/.test(stored) && parseInt(stored, 8) === sum;
}

/** `LEN key=value\n` records of a PAX extended header. */
function paxRecords(data: Buffer, at: number): Map<string, string> {
  const records = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space === -1) throw bad(at, 'a PAX record has no length');
    const length = Number(data.subarray(i, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - i || i + length > data.length || data[i + length - 1] !== 0x0a)
      throw bad(at, 'a PAX record has a wrong length');
    const record = data.subarray(space + 1, i + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw bad(at, 'a PAX record has no key');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    i += length;
  }
  return records;
}

function normalise(name: string, at: number): string {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  path = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '.') path = '';
  if (path.split('/').some((part) => part === '..')) throw bad(at, `the path "${name}" leaves the file system's root`);
  return path;
}

/** Every entry of the tar file open at `fd`, in the file's order (the root directory itself left out). */
export function indexTar(fd: number): TarEntry[] {
  const size = fstatSync(fd).size;
  const entries: TarEntry[] = [];
  const block = Buffer.alloc(BLOCK);
  let at = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();

  const readExact = (buffer: Buffer, position: number) => {
    if (position + buffer.length > size) throw bad(position, 'the file ends inside an entry');
    let done = 0;
    while (done < buffer.length) {
      const n = readSync(fd, buffer, done, buffer.length - done, position + done);
      if (n === 0) throw bad(position, 'the file ends inside an entry');
      done += n;
    }
  };

  for (;;) {
    if (at + BLOCK > size) {
      if (at === size) break; // no end-of-archive blocks: tolerated, as GNU tar does
      throw bad(at, 'the file ends inside a header');
    }
    readExact(block, at);
    if (block.every((b) => b === 0)) break;
    if (!checksumMatches(block)) throw bad(at, 'a header checksum is wrong');
    const typeflag = String.fromCharCode(block[156]!);
    const dataSize = number(block, 124, 12, at, 'size');
    const dataAt = at + BLOCK;
    const next = dataAt + Math.ceil(dataSize / BLOCK) * BLOCK;
    if (dataAt + dataSize > size) throw bad(at, 'an entry is longer than the rest of the file');

    if (typeflag === 'x' || typeflag === 'L' || typeflag === 'K') {
      if (dataSize > MAX_EXTENSION) throw bad(at, 'an extended header is larger than 1 MiB');
      const data = Buffer.alloc(dataSize);
      readExact(data, dataAt);
      if (typeflag === 'x') pax = paxRecords(data, at);
      else if (typeflag === 'L') longName = text(data, 0, data.length);
      else longLink = text(data, 0, data.length);
      at = next;
      continue;
    }
    const type = TYPES[typeflag];
    if (!type) throw bad(at, `the entry type "${typeflag}" (${block[156]}) cannot go into a ramdisk`);

    const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
    const prefix = ustar ? text(block, 345, 155) : '';
    const baseName = text(block, 0, 100);
    const rawName = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${baseName}` : baseName);
    const paxSize = pax.get('size');
    const entrySize = paxSize !== undefined ? Number(paxSize) : dataSize;
    if (!Number.isSafeInteger(entrySize) || entrySize < 0) throw bad(at, 'a PAX size is not a number');
    const name = normalise(rawName, at);
    const entry: TarEntry = {
      name,
      type,
      mode: number(block, 100, 8, at, 'mode') & 0o7777,
      uid: pax.has('uid') ? Number(pax.get('uid')) : number(block, 108, 8, at, 'uid'),
      gid: pax.has('gid') ? Number(pax.get('gid')) : number(block, 116, 8, at, 'gid'),
      mtime: pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : number(block, 136, 12, at, 'mtime'),
      size: type === 'file' ? entrySize : 0,
      offset: dataAt,
      linkname: pax.get('linkpath') ?? longLink ?? text(block, 157, 100),
      devmajor: ustar ? number(block, 329, 8, at, 'devmajor') : 0,
      devminor: ustar ? number(block, 337, 8, at, 'devminor') : 0,
    };
    if (type === 'hardlink') entry.linkname = normalise(entry.linkname, at);
    if (!Number.isSafeInteger(entry.uid) || !Number.isSafeInteger(entry.gid)) throw bad(at, 'a PAX uid or gid is not a number');
    if (!Number.isSafeInteger(entry.mtime)) throw bad(at, 'a PAX mtime is not a number');
    const end = paxSize !== undefined ? dataAt + Math.ceil(entrySize / BLOCK) * BLOCK : next;
    if (dataAt + entry.size > size) throw bad(at, 'an entry is longer than the rest of the file');
    if (name !== '') entries.push(entry);
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    at = end;
  }
  return entries;
}
