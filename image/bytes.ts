/** A run of bytes in an open file: how large inputs (a 300 MB image) move without sitting in memory. */
export interface FileRange {
  fd: number;
  offset: number;
  length: number;
}

/** Bytes already in memory, or a range of a file to copy from. */
export type Bytes = Buffer | FileRange;

export function byteLength(bytes: Bytes): number {
  return Buffer.isBuffer(bytes) ? bytes.length : bytes.length;
}
