import { execFileSync } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LINUXKIT_TIME } from '../../image/cpio';
import { comparePaths, customerRamdisk } from '../../image/customer-ramdisk';
import { imageCommand } from '../../image/docker';
import { type TarEntry, indexTar } from '../../image/tar-index';
import { archiveBytes, readNewc, sha256 } from './eif-support';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'cloister-ramdisk-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG = `${'deep/'.repeat(30)}file-with-a-name-longer-than-one-hundred-bytes.txt`;

/** A file system like an image's, with what docker export adds, made with its times and umask. */
function makeTree(name: string, time: number, umask: number): string {
  const root = join(dir, name);
  const old = process.umask(umask);
  try {
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, LONG, '..'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc/hosts'), 'build host specific\n');
    writeFileSync(join(root, 'etc/hostname'), 'abcdef123456\n');
    writeFileSync(join(root, '.dockerenv'), '');
    writeFileSync(join(root, LONG), 'long\n');
    linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-alias'));
    symlinkSync('usr/bin', join(root, 'bin'));
  } finally {
    process.umask(old);
  }
  execFileSync('find', [root, '-exec', 'touch', '-h', '-d', `@${time}`, '{}', '+']);
  utimesSync(root, time, time);
  return root;
}

function tarOf(root: string, name: string, format = 'pax', order: string[] = ['--sort=name']): number {
  const path = join(dir, `${name}.tar`);
  execFileSync('tar', ['--create', `--format=${format}`, ...order, '--numeric-owner', '--file', path, '-C', root, '.']);
  return openSync(path, 'r');
}

const command = { cmd: ['/usr/local/bin/node', '/app/dist/enclave/main.js'], env: ['PATH=/usr/local/bin:/usr/bin', 'NODE_ENV=production'] };

describe('indexing a docker export', () => {
  it('reads names of any length (PAX and GNU), links, modes and where each file lies, without reading the files', () => {
    for (const format of ['pax', 'gnu', 'ustar'] as const) {
      const root = makeTree(`index-${format}`, 1_600_000_000, 0o022);
      if (format === 'ustar') rmSync(join(root, 'deep'), { recursive: true });
      const fd = tarOf(root, `index-${format}`, format);
      try {
        const entries = indexTar(fd);
        const byName = new Map(entries.map((e) => [e.name, e]));
        expect(byName.get('usr/bin/tool')).toMatchObject({ type: 'file', mode: 0o755, size: 20, mtime: 1_600_000_000 });
        expect(entries.every((e) => e.mtime === 1_600_000_000)).toBe(true);
        expect(byName.get('usr/bin/tool-alias') ?? byName.get('usr/bin/tool')).toBeDefined();
        expect(entries.some((e) => e.type === 'hardlink' && e.linkname.startsWith('usr/bin/tool'))).toBe(true);
        expect(byName.get('bin')).toMatchObject({ type: 'symlink', linkname: 'usr/bin' });
        expect(byName.get('etc')).toMatchObject({ type: 'dir' });
        expect(entries.some((e) => e.name === '' || e.name === '.')).toBe(false);
        if (format !== 'ustar') expect(byName.get(LONG)).toMatchObject({ type: 'file', size: 5 });
      } finally {
        closeSync(fd);
      }
    }
  });

  it('refuses a corrupt or cut tar with IMAGE_BAD_TAR', () => {
    const root = makeTree('corrupt', 1_600_000_000, 0o022);
    const fd = tarOf(root, 'corrupt');
    closeSync(fd);
    const bytes = readFileSync(join(dir, 'corrupt.tar'));
    const cases = [
      bytes.subarray(0, 700),
      Buffer.concat([Buffer.from('x'), bytes.subarray(1)]),
      (() => {
        const b = Buffer.from(bytes);
        b[124] = 0x39;
        return b;
      })(),
    ];
    for (const [i, bad] of cases.entries()) {
      writeFileSync(join(dir, `bad-${i}.tar`), bad);
      const badFd = openSync(join(dir, `bad-${i}.tar`), 'r');
      try {
        expect(() => indexTar(badFd)).toThrow(expect.objectContaining({ code: 'IMAGE_BAD_TAR' }));
      } finally {
        closeSync(badFd);
      }
    }
  });
});

describe('the image ramdisk', () => {
  function ramdisk(root: string, name: string, order?: string[]): Buffer {
    const fd = tarOf(root, name, 'pax', order);
    try {
      return archiveBytes(customerRamdisk(fd, indexTar(fd), command).records);
    } finally {
      closeSync(fd);
    }
  }

  it('holds the image under rootfs/, then the mount points, then cmd and env, as nitro-cli lays it out', () => {
    const entries = readNewc(ramdisk(makeTree('layout', 1_600_000_000, 0o022), 'layout'));
    const names = entries.map((e) => e.name);
    expect(names[0]).toBe('rootfs');
    expect(names.slice(-9)).toEqual(['rootfs/dev', 'rootfs/run', 'rootfs/sys', 'rootfs/var', 'rootfs/proc', 'rootfs/tmp', 'cmd', 'env', 'TRAILER!!!']);
    const cmd = entries.find((e) => e.name === 'cmd')!;
    expect(cmd.data.toString()).toBe('/usr/local/bin/node\n/app/dist/enclave/main.js\n');
    expect(cmd.mode).toBe(0o100644);
    expect(entries.find((e) => e.name === 'env')!.data.toString()).toBe('PATH=/usr/local/bin:/usr/bin\nNODE_ENV=production\n');
    expect(entries.every((e) => e.name === 'TRAILER!!!' || e.mtime === LINUXKIT_TIME)).toBe(true);
    // Docker's own entries are left out or replaced, never the build host's.
    expect(names).not.toContain('rootfs/.dockerenv');
    expect(names).not.toContain('rootfs/etc/hostname');
    expect(entries.find((e) => e.name === 'rootfs/etc/hosts')!.data.toString()).toMatch(/^127\.0\.0\.1\tlocalhost\n/);
    // A hard link is a copy of its target; a symbolic link keeps its target.
    expect(entries.find((e) => e.name === 'rootfs/usr/bin/tool-alias')!.data.toString()).toBe('#!/bin/sh\necho tool\n');
    expect(entries.find((e) => e.name === 'rootfs/bin')).toMatchObject({ mode: 0o120777, data: Buffer.from('usr/bin') });
    expect(entries.find((e) => e.name === `rootfs/${LONG}`)!.data.toString()).toBe('long\n');
    // Sorted, a directory before what it holds.
    const image = names.slice(1, -9);
    expect([...image].sort((a, b) => comparePaths(a, b))).toEqual(image);
  });

  it('is the same bytes whatever the files’ times or the order of the export', () => {
    const a = ramdisk(makeTree('a', 1_600_000_000, 0o022), 'a');
    const b = ramdisk(makeTree('b', 1_700_000_123, 0o022), 'b', ['--sort=none']);
    expect(sha256(a)).toBe(sha256(b));
  });

  it('changes when one byte of one file changes', () => {
    const root = makeTree('changed', 1_600_000_000, 0o022);
    const before = ramdisk(root, 'changed-1');
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    expect(sha256(ramdisk(root, 'changed-2'))).not.toBe(sha256(before));
  });

  it('refuses a hard link to nothing, and a command the enclave init cannot read', () => {
    const entries: TarEntry[] = [
      { name: 'a', type: 'hardlink', linkname: 'missing', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, offset: 0, devmajor: 0, devminor: 0 },
    ];
    expect(() => customerRamdisk(0, entries, command)).toThrow(expect.objectContaining({ code: 'IMAGE_BAD_TAR' }));
    expect(() => customerRamdisk(0, [], { cmd: ['/bin/x', 'two\nlines'], env: [] })).toThrow(expect.objectContaining({ code: 'IMAGE_BAD_COMMAND' }));
    expect(() => customerRamdisk(0, [], { cmd: [], env: [] })).toThrow(expect.objectContaining({ code: 'IMAGE_NO_COMMAND' }));
  });
});

describe("the image's command, as nitro-cli takes it", () => {
  it('is CMD, or ENTRYPOINT when there is no CMD; neither is IMAGE_NO_COMMAND', () => {
    expect(imageCommand({ Cmd: ['a'], Entrypoint: ['b'], Env: ['X=1'] }, 'i')).toEqual({ cmd: ['a'], env: ['X=1'] });
    expect(imageCommand({ Cmd: null, Entrypoint: ['b', 'c'], Env: null }, 'i')).toEqual({ cmd: ['b', 'c'], env: [] });
    for (const config of [{ Cmd: null, Entrypoint: null }, { Cmd: [], Entrypoint: [] }, null]) {
      expect(() => imageCommand(config, 'acme/app:1')).toThrow(
        expect.objectContaining({ code: 'IMAGE_NO_COMMAND', message: expect.stringMatching(/acme\/app:1.*ENTRYPOINT/) }),
      );
    }
  });
});

describe('path order', () => {
  it('puts every directory before what it holds, and is a total order (property)', () => {
    const path = fc.array(fc.stringMatching(/^[a-z.\- _]{1,4}$/), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.array(path, { maxLength: 30 }), (paths) => {
        const sorted = [...paths].sort(comparePaths);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) expect(sorted[j]!.length > 0 && sorted[i]!.startsWith(`${sorted[j]}/`)).toBe(false);
        }
        expect([...paths].reverse().sort(comparePaths)).toEqual(sorted);
      }),
    );
  });
});
