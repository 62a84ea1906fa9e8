import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { join } from 'node:path';
import type { CpioRecord } from '../../image/cpio';

/** AWS's boot blobs, copied from ../shared/nitro-blobs so that the suite runs from a clone alone. */
export const BLOBS = join(__dirname, '..', 'fixtures', 'nitro-blobs', 'x86_64');

/** The bytes of an archive's records, reading file ranges as the writer would. */
export function archiveBytes(records: readonly CpioRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const record of records) {
    parts.push(record.head);
    if (record.data) {
      if (Buffer.isBuffer(record.data)) parts.push(record.data);
      else {
        const data = Buffer.alloc(record.data.length);
        readSync(record.data.fd, data, 0, data.length, record.data.offset);
        parts.push(data);
      }
    }
    parts.push(Buffer.alloc(record.pad));
  }
  return Buffer.concat(parts);
}

/** The PCR formula of eif-format.md, written out independently of image/pcrs.ts. */
export function pcr(...data: Buffer[]): string {
  const inner = createHash('sha384');
  for (const d of data) inner.update(d);
  return createHash('sha384').update(Buffer.alloc(48, 0)).update(inner.digest()).digest('hex');
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One entry of a newc archive, as a reader sees it. */
export interface ReadEntry {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  dev: [number, number];
  rdev: [number, number];
  data: Buffer;
}

/** A small newc reader, for checking what the writer wrote (no cpio tool on these machines). */
export function readNewc(archive: Buffer): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let at = 0;
  for (;;) {
    const magic = archive.subarray(at, at + 6).toString('ascii');
    if (magic !== '070701') throw new Error(`bad magic at ${at}: ${magic}`);
    const field = (i: number) => parseInt(archive.subarray(at + 6 + 8 * i, at + 14 + 8 * i).toString('ascii'), 16);
    const nameSize = field(11);
    const size = field(6);
    const name = archive.subarray(at + 110, at + 110 + nameSize - 1).toString('utf8');
    if (archive[at + 110 + nameSize - 1] !== 0) throw new Error(`name of ${name} not NUL-terminated`);
    let dataAt = at + 110 + nameSize;
    dataAt += (4 - (dataAt % 4)) % 4;
    const entry: ReadEntry = {
      name,
      ino: field(0),
      mode: field(1),
      uid: field(2),
      gid: field(3),
      nlink: field(4),
      mtime: field(5),
      dev: [field(7), field(8)],
      rdev: [field(9), field(10)],
      data: archive.subarray(dataAt, dataAt + size),
    };
    entries.push(entry);
    at = dataAt + size;
    at += (4 - (at % 4)) % 4;
    if (name === 'TRAILER!!!') return entries;
  }
}
