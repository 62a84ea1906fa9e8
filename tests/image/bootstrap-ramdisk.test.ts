import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { bootstrapRamdisk } from '../../image/bootstrap-ramdisk';
import { CpioArchive, LINUXKIT_TIME } from '../../image/cpio';
import { BLOBS, archiveBytes, readNewc, sha256 } from './eif-support';

describe('the bootstrap ramdisk', () => {
  it("is byte for byte nitro-cli's for AWS's blobs (eif-format.md: 764416 bytes, sha256 c752bd2c…)", () => {
    const { records, size } = bootstrapRamdisk({ init: readFileSync(join(BLOBS, 'init')), nsm: readFileSync(join(BLOBS, 'nsm.ko')) });
    const bytes = archiveBytes(records);
    expect(size).toBe(764416);
    expect(bytes.length).toBe(764416);
    expect(sha256(bytes)).toBe('c752bd2c30ce7f8449fcea83b05eb53a4a10302dfbc8f5ee8f8a48ae3976a8e2');
  });
});

describe('cpio newc as linuxkit writes it', () => {
  it('numbers inodes from 721, marks directories nlink 2, device 3:1, and ends in a trailer padded to 512', () => {
    const archive = new CpioArchive();
    archive.add({ name: 'a', type: 'dir', mode: 0o755, mtime: 5 });
    archive.add({ name: 'a/b', type: 'file', mode: 0o640, uid: 7, gid: 8, mtime: 6, data: Buffer.from('hello') });
    archive.add({ name: 'a/l', type: 'symlink', mode: 0o777, mtime: 6, linkname: 'b' });
    const { records, size } = archive.finish();
    const bytes = archiveBytes(records);
    expect(bytes.length).toBe(size);
    expect(size % 512).toBe(0);
    const entries = readNewc(bytes);
    expect(entries.map((e) => [e.name, e.ino, e.mode.toString(8), e.nlink, e.mtime, e.uid, e.gid])).toEqual([
      ['a', 721, '40755', 2, 5, 0, 0],
      ['a/b', 722, '100640', 1, 6, 7, 8],
      ['a/l', 723, '120777', 1, 6, 0, 0],
      ['TRAILER!!!', 724, '0', 1, 0, 0, 0],
    ]);
    expect(entries.every((e) => e.dev[0] === 3 && e.dev[1] === 1 && e.rdev[0] === 0 && e.rdev[1] === 0)).toBe(true);
    expect(entries[1]!.data.toString()).toBe('hello');
    expect(entries[2]!.data.toString()).toBe('b');
    expect(bytes.subarray(bytes.length - (size - bytes.lastIndexOf('TRAILER!!!') - 11)).every((b) => b === 0)).toBe(true);
  });

  it('adds a missing parent once, just before the entry that needs it, with execute bits where read or write is set', () => {
    const archive = new CpioArchive();
    archive.add({ name: 'x/y/z', type: 'file', mode: 0o640, mtime: 1, data: Buffer.from('z') });
    archive.add({ name: 'x/y/w', type: 'file', mode: 0o600, mtime: 1, data: Buffer.from('w') });
    const entries = readNewc(archiveBytes(archive.finish().records));
    expect(entries.map((e) => [e.name, e.mode.toString(8), e.mtime])).toEqual([
      ['x', '40750', LINUXKIT_TIME],
      ['x/y', '40750', LINUXKIT_TIME],
      ['x/y/z', '100640', 1],
      ['x/y/w', '100600', 1],
      ['TRAILER!!!', '0', 0],
    ]);
  });

  it('refuses paths that are absolute or climb out, and sizes a newc header cannot hold', () => {
    for (const name of ['/etc/passwd', '../x', 'a/../b', 'a//b', '']) {
      expect(() => new CpioArchive().add({ name, type: 'file', mode: 0o644, mtime: 0, data: Buffer.alloc(1) })).toThrow(
        expect.objectContaining({ code: 'IMAGE_BAD_TAR' }),
      );
    }
    expect(() => new CpioArchive().add({ name: 'big', type: 'file', mode: 0o644, mtime: 0, data: { fd: 0, offset: 0, length: 2 ** 32 } })).toThrow(
      expect.objectContaining({ code: 'IMAGE_TOO_LARGE' }),
    );
  });

  it('reads back every entry it was given, in order, whatever the names and contents (property)', () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0o7777 })), {
          maxLength: 12,
          selector: ([p]) => p.join('/'),
        }),
        (files) => {
          const archive = new CpioArchive();
          const names = new Set<string>();
          for (const [path, data, mode] of files) {
            const name = path.join('/');
            if ([...names].some((n) => n.startsWith(`${name}/`) || name.startsWith(`${n}/`))) continue;
            names.add(name);
            archive.add({ name, type: 'file', mode, mtime: 42, data: Buffer.from(data) });
          }
          const { records, size } = archive.finish();
          const bytes = archiveBytes(records);
          expect(bytes.length).toBe(size);
          const read = readNewc(bytes).filter((e) => (e.mode & 0o170000) === 0o100000);
          expect(read.map((e) => e.name)).toEqual([...names]);
          for (const e of read) expect([...e.data]).toEqual([...files.find(([p]) => p.join('/') === e.name)![1]]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
