import { isUtf8 } from 'node:buffer';
import { invalidUtf8, itemTooLong } from '../errors';

/**
 * Receives the raw UTF-8 bytes `bytes[start, end)` of one item from a format parser. `position`
 * locates the item for error messages (a line, row or index, as the format counts). The bytes may
 * be overwritten as soon as the call returns.
 */
export type RawItemSink = (bytes: Buffer, start: number, end: number, position: number) => void;

/** A streaming parser for one upload format: chunks in, raw items out to its sink. */
export interface ItemParser {
  write(chunk: Buffer): void;
  /** The body is complete: flush the last item, or throw if the body was cut short. */
  end(): void;
}

/** Turns a position into words for a message: "on line 3", "in row 3", "at index 2". */
export type Locate = (position: number) => string;

/**
 * The sink every format shares: enforces the item byte limit, decodes UTF-8 strictly, normalises,
 * and hands on non-empty items. Empty items (blank lines, empty CSV fields, `""` in JSON, or items
 * that normalise to nothing) are skipped in every format, so one set gives one result however it is sent.
 */
export function itemSink(locate: Locate, maxItemBytes: number, normalize: (item: string) => string, accept: (item: string) => void): RawItemSink {
  return (bytes, start, end, position) => {
    if (end === start) return;
    if (end - start > maxItemBytes) throw itemTooLong(locate(position), maxItemBytes);
    const text = bytes.toString('utf8', start, end);
    // Decoding replaces malformed sequences with U+FFFD, so only an item containing one needs the
    // exact check (it may also be a genuine U+FFFD).
    if (text.includes('\uFFFD') && !isUtf8(bytes.subarray(start, end))) throw invalidUtf8(locate(position));
    const item = normalize(text);
    if (item.length > 0) accept(item);
  };
}
