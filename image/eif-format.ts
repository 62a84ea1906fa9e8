/*
 * The constants of the Enclave Image File format, version 4, as nitro-cli writes it (see
 * ../shared/notes/eif-format.md). All integers are big-endian.
 */

/** `.eif` */
export const EIF_MAGIC = Buffer.from([0x2e, 0x65, 0x69, 0x66]);
export const EIF_VERSION = 4;
export const MAX_SECTIONS = 32;
/** magic 4, version 2, flags 2, memory 8, cpus 8, reserved 2, count 2, offsets 256, sizes 256, unused 4, crc 4 */
export const EIF_HEADER_SIZE = 548;
/** The header bytes the CRC covers: everything before the CRC field itself. */
export const EIF_CRC_OFFSET = 544;
export const SECTION_HEADER_SIZE = 12;

export const DEFAULT_MEMORY_BYTES = 1024n * 1024n * 1024n;
export const DEFAULT_CPUS = 2n;

export const SectionType = {
  kernel: 1,
  cmdline: 2,
  ramdisk: 3,
  signature: 4,
  metadata: 5,
} as const;
export type SectionType = (typeof SectionType)[keyof typeof SectionType];

export function sectionTypeName(type: number): string {
  return Object.entries(SectionType).find(([, value]) => value === type)?.[0] ?? `unknown(${type})`;
}

/** The 548-byte header for sections of the given types and payload sizes, laid out one after another; CRC field zero. */
export function eifHeader(sections: readonly { type: SectionType; size: bigint }[]): Buffer {
  const header = Buffer.alloc(EIF_HEADER_SIZE);
  EIF_MAGIC.copy(header, 0);
  header.writeUInt16BE(EIF_VERSION, 4);
  header.writeUInt16BE(0, 6); // x86_64
  header.writeBigUInt64BE(DEFAULT_MEMORY_BYTES, 8);
  header.writeBigUInt64BE(DEFAULT_CPUS, 16);
  header.writeUInt16BE(sections.length, 26);
  let offset = BigInt(EIF_HEADER_SIZE);
  sections.forEach((section, i) => {
    header.writeBigUInt64BE(offset, 28 + 8 * i);
    header.writeBigUInt64BE(section.size, 28 + 8 * MAX_SECTIONS + 8 * i);
    offset += BigInt(SECTION_HEADER_SIZE) + section.size;
  });
  return header;
}

export function sectionHeader(type: SectionType, size: bigint): Buffer {
  const header = Buffer.alloc(SECTION_HEADER_SIZE);
  header.writeUInt16BE(type, 0);
  header.writeBigUInt64BE(size, 4);
  return header;
}
