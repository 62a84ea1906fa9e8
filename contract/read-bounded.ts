import { closeSync, openSync, readSync } from 'node:fs';
import { CodedError } from './coded-error';

/**
 * Reading a file, or standard input, that may not end: `/dev/zero`, `yes |`, a file someone made
 * huge. Readers stop one byte past their limit instead of reading the whole input first.
 */

const CHUNK_BYTES = 1 << 20;

/** Standard input, for the readers below. */
export const STDIN = 0;

/** The input goes on past the most its reader takes; `limit` is that most, in bytes. */
export class InputTooLargeError extends CodedError<'INPUT_TOO_LARGE'> {
  constructor(readonly limit: number) {
    super('INPUT_TOO_LARGE', `it is larger than ${sizeText(limit)}`);
  }
}

/**
 * Hands the bytes of the file at `path` (or of standard input, `STDIN`) to `take` in chunks, in
 * order, and throws an InputTooLargeError as soon as more than `limit` bytes came: at most
 * `limit + 1` bytes are ever read. Errors of the file system (no such file, a directory) are
 * thrown as they are; so is whatever `take` throws, which ends the reading there.
 */
export function readChunks(path: string | typeof STDIN, limit: number, take: (chunk: Buffer) => void): void {
  const fd = path === STDIN ? STDIN : openSync(path, 'r');
  try {
    let total = 0;
    for (;;) {
      // A fresh buffer each time: `take` may keep what it is given.
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return;
      total += n;
      if (total > limit) throw new InputTooLargeError(limit);
      take(chunk.subarray(0, n));
    }
  } finally {
    if (fd !== STDIN) closeSync(fd);
  }
}

/** The whole of the file at `path` (or standard input), or an InputTooLargeError past `limit` bytes. */
export function readBounded(path: string | typeof STDIN, limit: number): Buffer {
  const chunks: Buffer[] = [];
  readChunks(path, limit, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}

/** `bytes` as people say it: `16 MiB`, `64 KiB`, `1 GiB`, or a number of bytes. */
export function sizeText(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
