import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError } from './errors';

/** Where a Nitro Enclaves build host keeps AWS's boot blobs (the aws-nitro-enclaves-cli package). */
export const DEFAULT_BLOBS_DIR = '/usr/share/nitro_enclaves/blobs';

/** AWS's boot blobs: the kernel and its command line, and what the bootstrap ramdisk holds. */
export interface NitroBlobs {
  /** The kernel file (read as it is written into the EIF, so a path, not bytes). */
  kernel: string;
  /** The kernel command line, surrounding whitespace trimmed, as the EIF's cmdline section holds it. */
  cmdline: Buffer;
  init: Buffer;
  nsm: Buffer;
}

/**
 * Reads the blobs of `dir` (`init`, `nsm.ko`, `cmdline`, and `bzImage` unless `kernel` names
 * another file). A missing one is `BLOB_MISSING`, naming the file and how to supply it.
 */
export function readBlobs(dir: string, kernel?: string): NitroBlobs {
  const read = (name: string) => {
    const path = join(dir, name);
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ImageError(
        'BLOB_MISSING',
        `cannot read the Nitro boot blob ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --blobs DIR with init, nsm.ko and cmdline from the aws-nitro-enclaves-cli package.`,
        { cause: e },
      );
    }
  };
  const kernelPath = kernel ?? join(dir, 'bzImage');
  let isFile = false;
  try {
    isFile = statSync(kernelPath).isFile();
  } catch {
    /* reported below */
  }
  if (!isFile) {
    throw new ImageError(
      'BLOB_MISSING',
      `the kernel ${kernelPath} is not a readable file; pass --kernel FILE (the bzImage of the aws-nitro-enclaves-cli package) or a --blobs DIR that holds bzImage.`,
    );
  }
  return { kernel: kernelPath, cmdline: Buffer.from(read('cmdline').toString('utf8').trim(), 'utf8'), init: read('init'), nsm: read('nsm.ko') };
}
