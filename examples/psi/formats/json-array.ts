import { itemTooLong, malformedJson, unpairedSurrogate } from '../errors';
import type { ItemParser, Locate, RawItemSink } from './item-sink';

// Parser states (plain numbers: this loop runs once per byte of the upload).
const BEFORE_ARRAY = 0;
/** After `[`: a string or `]`. */
const FIRST_ELEMENT = 1;
/** After `,`: a string. */
const NEXT_ELEMENT = 2;
const IN_STRING = 3;
const ESCAPE = 4;
const HEX = 5;
/** After a high-surrogate escape, which must be followed at once by `\u` and a low surrogate. */
const LOW_SURROGATE_BACKSLASH = 6;
const LOW_SURROGATE_U = 7;
/** After a string: `,` or `]`. */
const AFTER_ELEMENT = 8;
const AFTER_ARRAY = 9;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const U = 0x75;

const isWhitespace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/** What each single-character escape stands for (0: not a valid escape). */
const ESCAPED = new Uint8Array(128);
ESCAPED[QUOTE] = QUOTE;
ESCAPED[BACKSLASH] = BACKSLASH;
ESCAPED[0x2f] = 0x2f; // "/"
ESCAPED[0x62] = 0x08; // "b"
ESCAPED[0x66] = 0x0c; // "f"
ESCAPED[0x6e] = 0x0a; // "n"
ESCAPED[0x72] = 0x0d; // "r"
ESCAPED[0x74] = 0x09; // "t"

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

export const locateIndex: Locate = (index) => `at index ${index}`;

/**
 * `application/json`: a JSON array of strings (RFC 8259), parsed as it streams in, so a large
 * upload is neither buffered whole nor parsed in one long synchronous call. Each string is
 * unescaped into a buffer no longer than an item may be; its length limit applies to the decoded
 * UTF-8 bytes. Anything but an array of strings is refused with the byte offset of the problem.
 */
export class JsonArrayParser implements ItemParser {
  private readonly item: Buffer;
  private length = 0;
  private state = BEFORE_ARRAY;
  private index = 0;
  private consumed = 0;
  private hexDigits = 0;
  private codeUnit = 0;
  private highSurrogate = 0;

  constructor(
    private readonly maxItemBytes: number,
    private readonly sink: RawItemSink,
  ) {
    this.item = Buffer.allocUnsafe(maxItemBytes);
  }

  write(chunk: Buffer): void {
    let state = this.state;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      switch (state) {
        case IN_STRING:
          if (byte === QUOTE) {
            this.sink(this.item, 0, this.length, this.index++);
            this.length = 0;
            state = AFTER_ELEMENT;
          } else if (byte === BACKSLASH) state = ESCAPE;
          else if (byte < 0x20) throw malformedJson('an unescaped control character in a string', this.consumed + i);
          else this.append(byte);
          break;
        case ESCAPE:
          if (byte === U) {
            state = HEX;
            this.hexDigits = 0;
            this.codeUnit = 0;
          } else if (byte < 128 && ESCAPED[byte]! !== 0) {
            this.append(ESCAPED[byte]!);
            state = IN_STRING;
          } else throw malformedJson('an invalid escape in a string', this.consumed + i);
          break;
        case HEX: {
          const value = hexValue(byte);
          if (value < 0) throw malformedJson('an invalid \\u escape', this.consumed + i);
          this.codeUnit = (this.codeUnit << 4) | value;
          if (++this.hexDigits === 4) state = this.unicodeEscape();
          break;
        }
        case LOW_SURROGATE_BACKSLASH:
          if (byte !== BACKSLASH) throw unpairedSurrogate(locateIndex(this.index));
          state = LOW_SURROGATE_U;
          break;
        case LOW_SURROGATE_U:
          if (byte !== U) throw unpairedSurrogate(locateIndex(this.index));
          state = HEX;
          this.hexDigits = 0;
          this.codeUnit = 0;
          break;
        default:
          if (isWhitespace(byte)) break;
          state = this.structural(state, byte, this.consumed + i);
      }
    }
    this.state = state;
    this.consumed += chunk.length;
  }

  end(): void {
    if (this.state === BEFORE_ARRAY) throw malformedJson('an empty body', this.consumed);
    if (this.state !== AFTER_ARRAY) throw malformedJson('the body ends before the array is closed', this.consumed);
  }

  /** The state after a non-whitespace byte between strings. */
  private structural(state: number, byte: number, offset: number): number {
    switch (state) {
      case BEFORE_ARRAY:
        if (byte === OPEN) return FIRST_ELEMENT;
        throw malformedJson('the body does not start with "["', offset);
      case FIRST_ELEMENT:
        if (byte === CLOSE) return AFTER_ARRAY;
        if (byte === QUOTE) return IN_STRING;
        throw malformedJson(`the element at index ${this.index} is not a string`, offset);
      case NEXT_ELEMENT:
        if (byte === QUOTE) return IN_STRING;
        throw malformedJson(`the element at index ${this.index} is not a string`, offset);
      case AFTER_ELEMENT:
        if (byte === COMMA) return NEXT_ELEMENT;
        if (byte === CLOSE) return AFTER_ARRAY;
        throw malformedJson('expected "," or "]" after a string', offset);
      default:
        throw malformedJson('content after the end of the array', offset);
    }
  }

  /** Appends the code unit of a complete `\uXXXX`, pairing surrogates; returns the next state. */
  private unicodeEscape(): number {
    const unit = this.codeUnit;
    const isLow = unit >= 0xdc00 && unit <= 0xdfff;
    if (this.highSurrogate !== 0) {
      if (!isLow) throw unpairedSurrogate(locateIndex(this.index));
      this.appendCodePoint(0x10000 + ((this.highSurrogate - 0xd800) << 10) + (unit - 0xdc00));
      this.highSurrogate = 0;
      return IN_STRING;
    }
    if (isLow) throw unpairedSurrogate(locateIndex(this.index));
    if (unit >= 0xd800 && unit <= 0xdbff) {
      this.highSurrogate = unit;
      return LOW_SURROGATE_BACKSLASH;
    }
    this.appendCodePoint(unit);
    return IN_STRING;
  }

  private appendCodePoint(cp: number): void {
    if (cp < 0x80) this.append(cp);
    else if (cp < 0x800) {
      this.append(0xc0 | (cp >> 6));
      this.append(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      this.append(0xe0 | (cp >> 12));
      this.append(0x80 | ((cp >> 6) & 0x3f));
      this.append(0x80 | (cp & 0x3f));
    } else {
      this.append(0xf0 | (cp >> 18));
      this.append(0x80 | ((cp >> 12) & 0x3f));
      this.append(0x80 | ((cp >> 6) & 0x3f));
      this.append(0x80 | (cp & 0x3f));
    }
  }

  private append(byte: number): void {
    if (this.length === this.item.length) throw itemTooLong(locateIndex(this.index), this.maxItemBytes);
    this.item[this.length++] = byte;
  }
}
