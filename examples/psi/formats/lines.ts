import { itemTooLong } from '../errors';
import type { ItemParser, Locate, RawItemSink } from './item-sink';

const LF = 0x0a;
const CR = 0x0d;

export const locateLine: Locate = (line) => `on line ${line}`;

/**
 * `text/plain`: one item per line, LF or CRLF, the last line with or without a newline. Lines are
 * found with the native `indexOf` and handed on as byte ranges of the chunk; only a line split
 * between two chunks is copied, into a buffer no longer than an item may be.
 */
export class LineParser implements ItemParser {
  private readonly partial: Buffer;
  private partialLength = 0;
  private line = 1;

  constructor(
    private readonly maxItemBytes: number,
    private readonly sink: RawItemSink,
  ) {
    // Room for the longest allowed item and the CR of a CRLF.
    this.partial = Buffer.allocUnsafe(maxItemBytes + 1);
  }

  write(chunk: Buffer): void {
    let start = 0;
    if (this.partialLength > 0) {
      const newline = chunk.indexOf(LF);
      this.keep(chunk, 0, newline === -1 ? chunk.length : newline);
      if (newline === -1) return;
      this.emit(this.partial, 0, this.partialLength);
      this.partialLength = 0;
      start = newline + 1;
    }
    for (let newline = chunk.indexOf(LF, start); newline !== -1; newline = chunk.indexOf(LF, start)) {
      this.emit(chunk, start, newline);
      start = newline + 1;
    }
    this.keep(chunk, start, chunk.length);
  }

  end(): void {
    if (this.partialLength > 0) this.emit(this.partial, 0, this.partialLength);
    this.partialLength = 0;
  }

  private emit(bytes: Buffer, start: number, end: number): void {
    this.sink(bytes, start, end > start && bytes[end - 1] === CR ? end - 1 : end, this.line++);
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    if (this.partialLength + end - start > this.partial.length) throw itemTooLong(locateLine(this.line), this.maxItemBytes);
    this.partialLength += chunk.copy(this.partial, this.partialLength, start, end);
  }
}
