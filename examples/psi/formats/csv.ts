import { itemTooLong, malformedCsv } from '../errors';
import type { ItemParser, Locate, RawItemSink } from './item-sink';

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const QUOTE = 0x22;

// Parser states (plain numbers: this loop runs once per byte of the upload).
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field: either the first of `""` or the closing quote. */
const QUOTED_QUOTE = 3;
/** A CR outside quotes, which must be the start of CRLF. */
const AFTER_CR = 4;

export const locateRow: Locate = (row) => `in row ${row}`;

/**
 * `text/csv` (RFC 4180): the item is the first field of each record. Quoted fields may contain
 * commas, line breaks and `""` for a quote; records end with CRLF or LF. Other fields are parsed
 * only to find where the record ends, and never stored, so their length does not matter. Rows are
 * counted as records, from 1, the header included. Anything RFC 4180 forbids (a quote inside an
 * unquoted field, text after a closing quote, a bare CR, an unclosed quote) is refused rather than
 * guessed at.
 */
export class CsvParser implements ItemParser {
  private readonly field: Buffer;
  private length = 0;
  private state = FIELD_START;
  private column = 0;
  private row = 1;
  /** Bytes read before the current chunk, and where the current record began, to spot a last record without newline. */
  private consumed = 0;
  private recordStart = 0;
  /** Whether bytes of the current field are the item: first column, and not the header. */
  private collecting: boolean;

  constructor(
    private readonly maxItemBytes: number,
    skipHeader: boolean,
    private readonly sink: RawItemSink,
  ) {
    this.field = Buffer.allocUnsafe(maxItemBytes);
    this.collecting = !skipHeader;
  }

  write(chunk: Buffer): void {
    let state = this.state;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      switch (state) {
        case FIELD_START:
          if (byte === QUOTE) state = QUOTED;
          else if (byte === COMMA) this.endField();
          else if (byte === LF) this.endRecord(i);
          else if (byte === CR) state = AFTER_CR;
          else {
            this.append(byte);
            state = UNQUOTED;
          }
          break;
        case UNQUOTED:
          if (byte === COMMA) {
            this.endField();
            state = FIELD_START;
          } else if (byte === LF) {
            this.endRecord(i);
            state = FIELD_START;
          } else if (byte === CR) state = AFTER_CR;
          else if (byte === QUOTE) throw malformedCsv('a quote inside an unquoted field', this.row);
          else this.append(byte);
          break;
        case QUOTED:
          if (byte === QUOTE) state = QUOTED_QUOTE;
          else this.append(byte);
          break;
        case QUOTED_QUOTE:
          if (byte === QUOTE) {
            this.append(QUOTE);
            state = QUOTED;
          } else if (byte === COMMA) {
            this.endField();
            state = FIELD_START;
          } else if (byte === LF) {
            this.endRecord(i);
            state = FIELD_START;
          } else if (byte === CR) state = AFTER_CR;
          else throw malformedCsv('text after the closing quote of a field', this.row);
          break;
        case AFTER_CR:
          if (byte !== LF) throw malformedCsv('a carriage return not followed by a line feed', this.row);
          this.endRecord(i);
          state = FIELD_START;
          break;
      }
    }
    this.state = state;
    this.consumed += chunk.length;
  }

  end(): void {
    if (this.state === QUOTED) throw malformedCsv('a quoted field that is never closed', this.row);
    if (this.consumed > this.recordStart) this.endRecord(-1);
  }

  private append(byte: number): void {
    if (!this.collecting) return;
    if (this.length === this.field.length) throw itemTooLong(locateRow(this.row), this.maxItemBytes);
    this.field[this.length++] = byte;
  }

  private endField(): void {
    if (this.column === 0) this.emit();
    this.column++;
    this.collecting = false;
  }

  /** @param at index in the current chunk of the LF that ends the record (-1 at the end of the body). */
  private endRecord(at: number): void {
    if (this.column === 0) this.emit();
    this.column = 0;
    this.row++;
    this.collecting = true;
    this.recordStart = at === -1 ? this.consumed : this.consumed + at + 1;
  }

  private emit(): void {
    if (this.collecting) this.sink(this.field, 0, this.length, this.row);
    this.length = 0;
  }
}
