import { X509Certificate } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { decode } from 'cbor-x';
import { EIF_CRC_OFFSET, EIF_HEADER_SIZE, EIF_MAGIC, EIF_VERSION, MAX_SECTIONS, SECTION_HEADER_SIZE, SectionType, sectionTypeName } from './eif-format';
import { ImageError } from './errors';
import { sha384For } from './off-thread-sha384';
import { PcrMeasurer, type Pcrs } from './pcrs';
import type { Progress } from './write-eif';

/** One section as the header's table and the section's own header describe it. */
export interface EifSection {
  type: SectionType;
  /** Where the section header starts in the file. */
  offset: number;
  /** The payload's size. */
  size: number;
}

/** What `readEif` learned: the layout, the PCRs, and the (unmeasured) metadata. */
export interface EifReport {
  version: number;
  arch: 'x86_64' | 'aarch64';
  memoryBytes: bigint;
  cpus: bigint;
  sections: EifSection[];
  pcrs: Pcrs;
  /** The metadata section's JSON, when there is one and it parses. */
  metadata?: unknown;
}

const CHUNK = 4 * 1024 * 1024;
/** Metadata and signature are read into memory; nitro-cli's are a few kilobytes. */
const MAX_SMALL_SECTION = 1024 * 1024;

const sections = (why: string) =>
  new ImageError(
    'EIF_BAD_SECTIONS',
    `the EIF's section table is invalid: ${why}. The file is corrupt or not an EIF written by nitro-cli or cloister build; build it again.`,
  );

/**
 * Reads an EIF (ours or nitro-cli's) in one pass: checks the header, the section table, every
 * section header and the CRC, and computes PCR0, PCR1, PCR2 (and PCR8 when signed). Memory stays
 * bounded whatever the file's size.
 */
export function readEif(path: string, progress?: Progress): EifReport {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ImageError('EIF_TRUNCATED', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path.`, { cause: e });
  }
  try {
    return readOpen(fd, progress);
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, buffer: Buffer, position: number): void {
  for (let done = 0; done < buffer.length;) {
    const n = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (n === 0) throw new ImageError('EIF_TRUNCATED', 'the EIF ended while it was read (was it changed meanwhile?); read it again.');
    done += n;
  }
}

function readOpen(fd: number, progress?: Progress): EifReport {
  const fileSize = fstatSync(fd).size;
  if (fileSize < EIF_HEADER_SIZE) {
    throw new ImageError('EIF_TRUNCATED', `the file is ${fileSize} bytes, shorter than an EIF header (${EIF_HEADER_SIZE}); it is truncated or not an EIF.`);
  }
  const header = Buffer.alloc(EIF_HEADER_SIZE);
  readAt(fd, header, 0);
  if (!header.subarray(0, 4).equals(EIF_MAGIC)) {
    throw new ImageError(
      'EIF_BAD_MAGIC',
      `the file starts with ${header.subarray(0, 4).toString('hex')}, not the EIF magic ".eif"; it is not an enclave image file.`,
    );
  }
  const version = header.readUInt16BE(4);
  if (version !== EIF_VERSION) {
    throw new ImageError(
      'EIF_BAD_VERSION',
      `the EIF is format version ${version}; this reader knows version ${EIF_VERSION}, what nitro-cli and cloister build write. Rebuild it with a current nitro-cli or cloister build.`,
    );
  }
  const flags = header.readUInt16BE(6);
  if (flags > 1) throw sections(`unknown flags ${flags.toString(16)}`);
  const count = header.readUInt16BE(26);
  if (count === 0 || count > MAX_SECTIONS) throw sections(`it announces ${count} sections (1 to ${MAX_SECTIONS})`);

  const table: EifSection[] = [];
  let expected = EIF_HEADER_SIZE;
  for (let i = 0; i < MAX_SECTIONS; i++) {
    const offset = header.readBigUInt64BE(28 + 8 * i);
    const size = header.readBigUInt64BE(28 + 8 * MAX_SECTIONS + 8 * i);
    if (i >= count) {
      if (offset !== 0n || size !== 0n) throw sections(`entry ${i} is beyond the ${count} sections but not empty`);
      continue;
    }
    if (offset < BigInt(expected)) throw sections(`section ${i} starts at ${offset}, inside the header or the section before it (which ends at ${expected})`);
    if (offset > BigInt(expected)) throw sections(`section ${i} starts at ${offset}, leaving bytes after ${expected} that no section and no CRC covers`);
    const end = offset + BigInt(SECTION_HEADER_SIZE) + size;
    if (end > BigInt(fileSize)) {
      const agrees = Number(offset) + SECTION_HEADER_SIZE > fileSize || sectionSize(fd, Number(offset)) === size;
      if (agrees)
        throw new ImageError('EIF_TRUNCATED', `section ${i} ends at byte ${end} but the file has ${fileSize}: it is truncated; copy or download it again.`);
      throw sections(`section ${i} (${size} bytes at ${offset}) points past the end of the file (${fileSize} bytes)`);
    }
    table.push({ type: 0 as SectionType, offset: Number(offset), size: Number(size) });
    expected = Number(end);
  }
  if (expected !== fileSize) throw sections(`${fileSize - expected} bytes follow the last section`);

  const measurer = new PcrMeasurer(sha384For(fileSize));
  let crc = crc32(header.subarray(0, EIF_CRC_OFFSET));
  const seen: SectionType[] = [];
  let metadata: unknown;
  const chunk = Buffer.alloc(CHUNK);
  let reported = 0;
  for (const [i, section] of table.entries()) {
    const sectionHead = Buffer.alloc(SECTION_HEADER_SIZE);
    readAt(fd, sectionHead, section.offset);
    crc = crc32(sectionHead, crc);
    const type = sectionHead.readUInt16BE(0);
    if (!Object.values(SectionType).includes(type as SectionType))
      throw new ImageError('EIF_BAD_SECTION_HEADER', `section ${i} has the unknown type ${type}; the file is corrupt.`);
    if (sectionHead.readUInt16BE(2) !== 0)
      throw new ImageError('EIF_BAD_SECTION_HEADER', `section ${i} has flags ${sectionHead.readUInt16BE(2)}, not 0; the file is corrupt.`);
    if (sectionHead.readBigUInt64BE(4) !== BigInt(section.size)) {
      throw new ImageError(
        'EIF_BAD_SECTION_HEADER',
        `section ${i} (${sectionTypeName(type)}) says it holds ${sectionHead.readBigUInt64BE(4)} bytes, the header's table ${section.size}; the file is corrupt.`,
      );
    }
    section.type = type as SectionType;
    checkOrder(seen, section.type, i);
    seen.push(section.type);

    const payloadAt = section.offset + SECTION_HEADER_SIZE;
    if (section.type === SectionType.metadata || section.type === SectionType.signature) {
      if (section.size > MAX_SMALL_SECTION) throw sections(`the ${sectionTypeName(type)} section is ${section.size} bytes, more than ${MAX_SMALL_SECTION}`);
      const payload = Buffer.alloc(section.size);
      readAt(fd, payload, payloadAt);
      crc = crc32(payload, crc);
      if (section.type === SectionType.metadata) metadata = parseJson(payload);
      else measurer.signedBy(signingCertificate(payload));
      continue;
    }
    const hashes = measurer.hashesFor(section.type === SectionType.kernel ? 'kernel' : section.type === SectionType.cmdline ? 'cmdline' : 'ramdisk');
    for (let at = 0; at < section.size;) {
      const piece = chunk.subarray(0, Math.min(CHUNK, section.size - at));
      readAt(fd, piece, payloadAt + at);
      crc = crc32(piece, crc);
      for (const hash of hashes) hash.update(piece);
      at += piece.length;
      if (progress && payloadAt + at - reported >= 64 * 1024 * 1024) {
        reported = payloadAt + at;
        progress(reported, fileSize);
      }
    }
  }
  for (const required of [SectionType.kernel, SectionType.cmdline, SectionType.ramdisk]) {
    if (!seen.includes(required)) throw sections(`it has no ${sectionTypeName(required)} section`);
  }
  const stored = header.readUInt32BE(EIF_CRC_OFFSET);
  if (stored !== crc >>> 0) {
    throw new ImageError(
      'EIF_BAD_CRC',
      `the EIF's CRC32 is ${stored.toString(16).padStart(8, '0')} but its contents give ${(crc >>> 0).toString(16).padStart(8, '0')}: the file is corrupt; copy or build it again.`,
    );
  }
  return {
    version,
    arch: flags === 1 ? 'aarch64' : 'x86_64',
    memoryBytes: header.readBigUInt64BE(8),
    cpus: header.readBigUInt64BE(16),
    sections: table,
    pcrs: measurer.digest(),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

function sectionSize(fd: number, offset: number): bigint {
  const head = Buffer.alloc(SECTION_HEADER_SIZE);
  readAt(fd, head, offset);
  return head.readBigUInt64BE(4);
}

/** kernel, cmdline, metadata (at most one, anywhere before the ramdisks), ramdisks, signature last: as nitro-cli writes. */
function checkOrder(seen: readonly SectionType[], type: SectionType, index: number): void {
  const name = sectionTypeName(type);
  const fail = (why: string) => sections(`section ${index} is a ${name} section ${why}`);
  if (seen.includes(SectionType.signature)) throw fail('after the signature, which must be last');
  switch (type) {
    case SectionType.kernel:
      if (seen.length > 0) throw fail('but the kernel must come first');
      break;
    case SectionType.cmdline:
      if (seen.length === 0 || seen.includes(SectionType.cmdline) || seen.includes(SectionType.ramdisk))
        throw fail('out of place (one, right after the kernel)');
      break;
    case SectionType.metadata:
      if (seen.includes(SectionType.metadata) || !seen.includes(SectionType.cmdline) || seen.includes(SectionType.ramdisk))
        throw fail('out of place (one, after the cmdline, before the ramdisks)');
      break;
    case SectionType.ramdisk:
      if (!seen.includes(SectionType.cmdline)) throw fail('before the cmdline');
      break;
    case SectionType.signature:
      if (!seen.includes(SectionType.ramdisk)) throw fail('before any ramdisk');
      break;
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The DER certificate of the signature section's first entry (the one over PCR0). */
function signingCertificate(payload: Buffer): Buffer {
  const fail = (why: string, cause?: unknown) =>
    new ImageError('EIF_BAD_SIGNATURE', `the EIF's signature section cannot be read: ${why}; sign the image again.`, { cause });
  let entries: unknown;
  try {
    entries = decode(payload);
  } catch (e) {
    throw fail('it is not CBOR', e);
  }
  const first = Array.isArray(entries) ? (entries[0] as Record<string, unknown> | undefined) : undefined;
  const raw = first instanceof Map ? first.get('signing_certificate') : first?.signing_certificate;
  const pem =
    raw instanceof Uint8Array
      ? Buffer.from(raw)
      : Array.isArray(raw) && raw.every((b) => Number.isInteger(b) && b >= 0 && b < 256)
        ? Buffer.from(raw as number[])
        : undefined;
  if (!pem) throw fail('its first entry has no signing_certificate');
  try {
    return new X509Certificate(pem).raw;
  } catch (e) {
    throw fail('the signing certificate is not a PEM certificate', e);
  }
}
