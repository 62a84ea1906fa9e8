import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Bytes } from './bytes';
import type { CpioRecord } from './cpio';
import { EIF_CRC_OFFSET, SectionType, eifHeader, sectionHeader } from './eif-format';
import { ImageError } from './errors';
import { type Sha384Sink, sha384For } from './off-thread-sha384';
import { PcrMeasurer, type Pcrs } from './pcrs';

/** What goes into an EIF, in the order nitro-cli writes it. */
export interface EifContents {
  /** The kernel file; copied, never read whole. */
  kernel: string;
  cmdline: Buffer;
  /** Compact JSON; not measured. */
  metadata: Buffer;
  /** Ramdisk 0 (the bootstrap) first, then the image's. */
  ramdisks: readonly { records: readonly CpioRecord[]; size: number }[];
}

/** Reports bytes written so far out of the total; called every few megabytes. */
export type Progress = (done: number, total: number) => void;

const CHUNK = 4 * 1024 * 1024;
const PROGRESS_EVERY = 64 * 1024 * 1024;

/**
 * Appends to a file through one buffer, feeding the CRC and the hashes of the current section on
 * every flush, so each byte is read, hashed and written once.
 */
class MeasuredWriter {
  private readonly buffer = Buffer.alloc(CHUNK);
  private used = 0;
  private hashes: Sha384Sink[] = [];
  private reported = 0;

  constructor(
    private readonly fd: number,
    /** Where the next byte goes, and so how many are written. */
    private position: number,
    public crc: number,
    private readonly total: number,
    private readonly progress?: Progress,
  ) {}

  /** Bytes that the CRC covers but no PCR does (the header, section headers, metadata). */
  unmeasured(bytes: Buffer): void {
    this.flush();
    this.hashes = [];
    this.write(bytes);
    this.flush();
  }

  measured(hashes: Sha384Sink[]): void {
    this.flush();
    this.hashes = hashes;
  }

  write(bytes: Bytes): void {
    if (Buffer.isBuffer(bytes)) {
      for (let at = 0; at < bytes.length;) {
        const n = bytes.copy(this.buffer, this.used, at);
        this.used += n;
        at += n;
        if (this.used === CHUNK) this.flush();
      }
      return;
    }
    for (let at = 0; at < bytes.length;) {
      if (this.used === CHUNK) this.flush();
      const want = Math.min(bytes.length - at, CHUNK - this.used);
      const n = readSync(bytes.fd, this.buffer, this.used, want, bytes.offset + at);
      if (n === 0) throw new ImageError('IMAGE_BAD_TAR', 'the image export ended early while it was copied; export the image again.');
      this.used += n;
      at += n;
    }
  }

  zeros(count: number): void {
    if (count > 0) this.write(Buffer.alloc(count));
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buffer.subarray(0, this.used);
    for (const hash of this.hashes) hash.update(chunk);
    this.crc = crc32(chunk, this.crc);
    for (let at = 0; at < chunk.length;) at += writeSync(this.fd, chunk, at, chunk.length - at, this.position + at);
    this.position += chunk.length;
    this.used = 0;
    if (this.progress && this.position - this.reported >= PROGRESS_EVERY) {
      this.reported = this.position;
      this.progress(this.position, this.total);
    }
  }
}

/**
 * Writes the EIF to `path` and returns its PCRs. The file appears only when complete: it is
 * written beside `path` and renamed, and removed on any failure.
 */
export function writeEif(path: string, contents: EifContents, progress?: Progress): Pcrs {
  const kernelFd = openKernel(contents.kernel);
  const partial = `${path}.partial-${process.pid}`;
  let fd: number | undefined;
  try {
    const kernelSize = fstatSync(kernelFd).size;
    const sections: { type: SectionType; size: bigint }[] = [
      { type: SectionType.kernel, size: BigInt(kernelSize) },
      { type: SectionType.cmdline, size: BigInt(contents.cmdline.length) },
      { type: SectionType.metadata, size: BigInt(contents.metadata.length) },
      ...contents.ramdisks.map((r) => ({ type: SectionType.ramdisk, size: BigInt(r.size) })),
    ];
    const header = eifHeader(sections);
    const total = header.length + sections.reduce((sum, s) => sum + 12 + Number(s.size), 0);
    fd = openSync(partial, 'wx', 0o644);
    // The header's CRC field is written last, once the CRC of everything after it is known.
    writeSync(fd, header, 0, header.length, 0);
    const out = new MeasuredWriter(fd, header.length, crc32(header.subarray(0, EIF_CRC_OFFSET)), total, progress);
    const pcrs = new PcrMeasurer(sha384For(total));

    out.unmeasured(sectionHeader(SectionType.kernel, BigInt(kernelSize)));
    out.measured(pcrs.hashesFor('kernel'));
    out.write({ fd: kernelFd, offset: 0, length: kernelSize });

    out.unmeasured(sectionHeader(SectionType.cmdline, BigInt(contents.cmdline.length)));
    out.measured(pcrs.hashesFor('cmdline'));
    out.write(contents.cmdline);

    out.unmeasured(sectionHeader(SectionType.metadata, BigInt(contents.metadata.length)));
    out.unmeasured(contents.metadata);

    for (const ramdisk of contents.ramdisks) {
      out.unmeasured(sectionHeader(SectionType.ramdisk, BigInt(ramdisk.size)));
      out.measured(pcrs.hashesFor('ramdisk'));
      for (const record of ramdisk.records) {
        out.write(record.head);
        if (record.data) out.write(record.data);
        out.zeros(record.pad);
      }
    }
    out.flush();

    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(out.crc);
    writeSync(fd, crc, 0, 4, EIF_CRC_OFFSET);
    closeSync(fd);
    fd = undefined;
    renameSync(partial, path);
    return pcrs.digest();
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(partial, { force: true });
    throw e;
  } finally {
    closeSync(kernelFd);
  }
}

function openKernel(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new ImageError('BLOB_MISSING', `cannot read the kernel ${path} (${(e as NodeJS.ErrnoException).code}); pass --kernel FILE.`, { cause: e });
  }
}
