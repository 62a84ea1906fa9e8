import { CpioArchive, type CpioEntryType, type CpioRecord, LINUXKIT_TIME } from './cpio';
import { ImageError } from './errors';
import type { TarEntry } from './tar-index';

/*
 * Ramdisk 1 of our EIFs: the image's file system under `rootfs/`, then the directories the
 * enclave's init mounts over, then `cmd` and `env`, as nitro-cli lays it out. Unlike nitro-cli,
 * whose result carries every time and order of the image's layers, ours is canonical: entries
 * sorted by path, every time linuxkit's, so the ramdisk (and PCR2) depends only on the files'
 * contents, modes, owners and links.
 */

/** What the image asks the enclave to run. */
export interface ImageCommand {
  /** The program and its arguments. */
  cmd: string[];
  /** `NAME=value` pairs. */
  env: string[];
}

/**
 * Entries that Docker adds to every exported container, whatever the image holds; linuxkit leaves
 * out or replaces the same ones, so an enclave never sees the build host's.
 */
const DOCKER_ONLY = new Set(['.dockerenv', 'Dockerfile', 'dev/console', 'dev/pts', 'dev/shm', 'etc/hostname']);
const REPLACED: Record<string, Buffer> = {
  'etc/hosts': Buffer.from('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'),
  'etc/resolv.conf': Buffer.from('# the enclave has no network of its own; outbound traffic goes through the egress proxy\n'),
};
/** Mount points the enclave's init needs, added after the image's own entries. */
const MOUNT_POINTS = ['dev', 'run', 'sys', 'var', 'proc', 'tmp'];

const byPath = (a: TarEntry, b: TarEntry) => comparePaths(a.name, b.name);

/** Component by component, so that a directory always comes before what it holds. */
export function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!));
  }
  return x.length - y.length;
}

function lines(values: string[], what: string): Buffer {
  for (const value of values) {
    if (value.includes('\n') || value.includes('\0')) {
      throw new ImageError(
        'IMAGE_BAD_COMMAND',
        `the image's ${what} has an entry with a newline or NUL (${JSON.stringify(value)}), which the enclave's init cannot read; change it in the Dockerfile.`,
      );
    }
  }
  return Buffer.from(values.map((v) => `${v}\n`).join(''), 'utf8');
}

/**
 * The records of ramdisk 1 for an image whose exported file system is the tar open at `fd`,
 * indexed as `entries`. Hard links become copies of their target.
 */
export function customerRamdisk(fd: number, entries: readonly TarEntry[], command: ImageCommand): { records: CpioRecord[]; size: number } {
  if (command.cmd.length === 0) {
    throw new ImageError(
      'IMAGE_NO_COMMAND',
      'the image has neither CMD nor ENTRYPOINT, so the enclave would have nothing to run; add an ENTRYPOINT to the Dockerfile.',
    );
  }
  const cmd = lines(command.cmd, 'command');
  const env = lines(command.env, 'environment');

  const latest = new Map<string, TarEntry>();
  for (const entry of entries) latest.set(entry.name, entry);
  const archive = new CpioArchive();
  archive.add({ name: 'rootfs', type: 'dir', mode: 0o755, mtime: LINUXKIT_TIME });
  for (const entry of [...latest.values()].sort(byPath)) {
    if (DOCKER_ONLY.has(entry.name)) continue;
    const target = entry.type === 'hardlink' ? linkTarget(entry, latest) : entry;
    const type: CpioEntryType = target.type === 'hardlink' ? 'file' : target.type;
    archive.add({
      name: `rootfs/${entry.name}`,
      type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: LINUXKIT_TIME,
      data: REPLACED[entry.name] ?? { fd, offset: target.offset, length: target.size },
      linkname: entry.linkname,
      rdev: [entry.devmajor, entry.devminor],
    });
  }
  for (const dir of MOUNT_POINTS) archive.add({ name: `rootfs/${dir}`, type: 'dir', mode: 0o755, mtime: LINUXKIT_TIME });
  archive.add({ name: 'cmd', type: 'file', mode: 0o644, mtime: LINUXKIT_TIME, data: cmd });
  archive.add({ name: 'env', type: 'file', mode: 0o644, mtime: LINUXKIT_TIME, data: env });
  return archive.finish();
}

function linkTarget(link: TarEntry, byName: ReadonlyMap<string, TarEntry>): TarEntry {
  const seen = new Set<string>();
  let target = link;
  while (target.type === 'hardlink') {
    if (seen.has(target.name)) throw new ImageError('IMAGE_BAD_TAR', `the hard link ${link.name} is part of a loop; export the image again.`);
    seen.add(target.name);
    const next = byName.get(target.linkname);
    if (!next)
      throw new ImageError('IMAGE_BAD_TAR', `the hard link ${link.name} points at ${target.linkname}, which the image does not hold; export the image again.`);
    target = next;
  }
  if (target.type !== 'file') throw new ImageError('IMAGE_BAD_TAR', `the hard link ${link.name} points at ${target.name}, which is not a regular file.`);
  return target;
}
