import { CpioArchive, type CpioRecord, LINUXKIT_TIME } from './cpio';

/**
 * Ramdisk 0 of every EIF: AWS's `init` and the `nsm.ko` driver under an empty `dev`, exactly as
 * nitro-cli has linuxkit write it, so that PCR1 matches a nitro-cli build with the same blobs.
 */
export function bootstrapRamdisk(blobs: { init: Buffer; nsm: Buffer }): { records: CpioRecord[]; size: number } {
  const archive = new CpioArchive();
  archive.add({ name: 'dev', type: 'dir', mode: 0o755, mtime: LINUXKIT_TIME });
  archive.add({ name: 'init', type: 'file', mode: 0o755, mtime: LINUXKIT_TIME, data: blobs.init });
  archive.add({ name: 'nsm.ko', type: 'file', mode: 0o755, mtime: LINUXKIT_TIME, data: blobs.nsm });
  return archive.finish();
}
