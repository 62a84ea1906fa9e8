import { type Bytes, byteLength } from './bytes';
import { ImageError } from './errors';

/*
 * cpio archives in the `newc` format, written the way linuxkit (and so nitro-cli) writes them:
 * inode numbers from 721, uid/gid as given, device 3:1, nlink 2 for directories and 1 otherwise,
 * a parent directory that was not listed emitted just before the first entry that needs it, a
 * trailer with mode and time 0, and the archive padded to 512 bytes. See eif-format.md.
 */

/** linuxkit's default time (2017-04-18T16:30:00Z), which it gives every entry it adds itself. */
export const LINUXKIT_TIME = 1492533000;

const FIRST_INODE = 721;
const TRAILER = 'TRAILER!!!';
const S_IFMT = 0o170000;
const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;

export type CpioEntryType = keyof typeof TYPE_BITS;

export interface CpioEntry {
  /** The path inside the archive, without a leading `/`. */
  name: string;
  type: CpioEntryType;
  /** Permission bits (and set-id/sticky bits); the type bits come from `type`. */
  mode: number;
  uid?: number;
  gid?: number;
  mtime: number;
  /** A regular file's contents. */
  data?: Bytes;
  /** A symbolic link's target. */
  linkname?: string;
  /** A device node's major and minor numbers. */
  rdev?: [number, number];
}

/** One entry as written: its header with name and padding, then its data and the data's padding. */
export interface CpioRecord {
  head: Buffer;
  data?: Bytes;
  pad: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function hex8(value: number, field: string, name: string): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `${name}: its ${field} (${value}) does not fit a cpio newc header (at most 4 GiB per file); make the file smaller.`,
    );
  }
  return value.toString(16).padStart(8, '0');
}

function header(
  ino: number,
  entry: { name: string; mode: number; uid: number; gid: number; nlink: number; mtime: number; size: number; rdev: [number, number] },
): Buffer {
  const name = Buffer.from(`${entry.name}\0`, 'utf8');
  const fields = [ino, entry.mode, entry.uid, entry.gid, entry.nlink, entry.mtime, entry.size, 3, 1, entry.rdev[0], entry.rdev[1], name.length, 0];
  const labels = ['inode', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'size', 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'name size', 'check'];
  const text = `070701${fields.map((v, i) => hex8(v, labels[i]!, entry.name)).join('')}`;
  return Buffer.concat([Buffer.from(text, 'ascii'), name, Buffer.alloc(pad4(110 + name.length))]);
}

/** Collects entries in order and turns them into records, adding the parents linuxkit would add. */
export class CpioArchive {
  private readonly records: CpioRecord[] = [];
  private readonly directories = new Set<string>();
  private nextInode = FIRST_INODE;
  private size = 0;

  add(entry: CpioEntry): void {
    if (entry.name === '' || entry.name.startsWith('/') || entry.name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new ImageError('IMAGE_BAD_TAR', `"${entry.name}" is not a plain relative path; a ramdisk entry cannot have one.`);
    }
    this.addMissingParents(entry.name, entry.mode & 0o777);
    if (entry.type === 'dir') this.directories.add(entry.name);
    const body: Bytes =
      entry.type === 'symlink' ? Buffer.from(entry.linkname ?? '', 'utf8') : entry.type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    this.push(
      {
        name: entry.name,
        mode: (entry.mode & ~S_IFMT) | TYPE_BITS[entry.type],
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        nlink: entry.type === 'dir' ? 2 : 1,
        mtime: entry.mtime,
        size: byteLength(body),
        rdev: entry.rdev ?? [0, 0],
      },
      body,
    );
  }

  /** The records of the whole archive, trailer and final padding included; the archive cannot grow after this. */
  finish(): { records: CpioRecord[]; size: number } {
    this.push({ name: TRAILER, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0, rdev: [0, 0] }, Buffer.alloc(0));
    const last = this.records.at(-1)!;
    last.pad += (512 - (this.size % 512)) % 512;
    this.size += (512 - (this.size % 512)) % 512;
    return { records: this.records, size: this.size };
  }

  private addMissingParents(name: string, perm: number): void {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.directories.has(dir)) continue;
      this.directories.add(dir);
      const withExecute = perm | ((perm & 0o444) >> 2) | ((perm & 0o222) >> 1);
      this.push({ name: dir, mode: TYPE_BITS.dir | withExecute, uid: 0, gid: 0, nlink: 2, mtime: LINUXKIT_TIME, size: 0, rdev: [0, 0] }, Buffer.alloc(0));
    }
  }

  private push(fields: Parameters<typeof header>[1], body: Bytes): void {
    const head = header(this.nextInode++, fields);
    const length = byteLength(body);
    const record: CpioRecord = { head, pad: pad4(length) };
    if (length > 0) record.data = body;
    this.records.push(record);
    this.size += head.length + length + record.pad;
  }
}
