import { CodedError } from '../contract/coded-error';
import { quoteInput } from '../contract/quote-input';
import { sizeText } from '../contract/read-bounded';

/**
 * JSON text read in chunks, as events (RFC 8259, as strict as `JSON.parse`): a saved response can
 * be larger than a JavaScript string may be, yet only a few of its values matter. Strings,
 * numbers and literals are decoded by `JSON.parse` one at a time, so they mean exactly what they
 * would mean in the whole text; containers are only counted.
 */

/** What a `StreamingJsonParser` reports, in document order. Depth 0 is the top-level value. */
export interface JsonHandler {
  /** `{` or `[` at `depth`: its members are at `depth + 1`. */
  open(kind: 'object' | 'array', depth: number): void;
  /** A member's name in an object whose members are at `depth`. */
  key(name: string, depth: number): void;
  /** A string, number, `true`, `false` or `null` at `depth`. */
  scalar(value: string | number | boolean | null, depth: number): void;
}

export type JsonStreamErrorCode =
  /** Not JSON text: `message` says what was found where. */
  | 'NOT_JSON'
  /** Containers nested deeper than the parser follows. */
  | 'TOO_DEEP'
  /** A string longer than the parser decodes. */
  | 'STRING_TOO_LONG';

/**
 * Why a JSON text was refused: `message` says what was found where (`it is empty`, `the string at
 * byte 12 ...`), `offset` is that byte, `depth` how many containers were open there.
 */
export class JsonStreamError extends CodedError<JsonStreamErrorCode> {
  constructor(
    code: JsonStreamErrorCode,
    message: string,
    readonly offset: number,
    readonly depth: number,
  ) {
    super(code, message);
  }
}

export interface StreamingJsonLimits {
  /** The most bytes a string may have as written between its quotes, escapes included. */
  maxStringBytes: number;
  /** The most containers open at once. */
  maxDepth: number;
}

// What the parser expects next (plain numbers: this loop runs once per byte).
/** A value: at the top, after `:`, or after `,` in an array. */
const VALUE = 0;
/** After `[`: a value or `]`. */
const VALUE_OR_CLOSE = 1;
/** After `{`: a key or `}`. */
const KEY_OR_CLOSE = 2;
/** After `,` in an object: a key. */
const KEY = 3;
const COLON = 4;
/** After a member: `,` or the end of its container. */
const NEXT = 5;
/** After the top-level value: white space only. */
const DONE = 6;
const IN_STRING = 7;
/** In a number, `true`, `false` or `null`. */
const IN_SCALAR = 8;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON_BYTE = 0x3a;
/** A number or a literal is a few dozen characters; a longer one is refused, not decoded. */
const MAX_SCALAR_BYTES = 1024;

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}

const isWhitespace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
/** Bytes a number or literal is made of; `JSON.parse` then says whether they make one. */
const isScalarByte = (byte: number) =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || byte === 0x2d || byte === 0x2b || byte === 0x2e;

/**
 * A push parser: `write` each chunk as it comes, then `end`. Throws a `JsonStreamError` at the
 * first byte that makes the text no JSON, or past a limit; whatever the handler throws ends the
 * parse too.
 */
export class StreamingJsonParser {
  private state = VALUE;
  /** For each open container, whether it is an object. */
  private readonly objects: boolean[] = [];
  /** The bytes, from earlier chunks, of the string or scalar being read. */
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  /** Where the token being read starts in the current chunk (0 when it began in an earlier one). */
  private pieceStart = 0;
  /** Where the token being read starts in the whole text. */
  private tokenStart = 0;
  private tokenIsKey = false;
  private escaped = false;
  /** The next quote and backslash in the current chunk found so far (its length: none; -1: not looked for). */
  private nextQuote = -1;
  private nextBackslash = -1;
  private consumed = 0;

  constructor(
    private readonly handler: JsonHandler,
    private readonly limits: StreamingJsonLimits,
  ) {}

  write(chunk: Buffer): void {
    this.pieceStart = 0;
    this.nextQuote = -1;
    this.nextBackslash = -1;
    let i = 0;
    while (i < chunk.length) {
      if (this.state === IN_STRING) i = this.readString(chunk, i);
      else if (this.state === IN_SCALAR) i = this.readScalar(chunk, i);
      else {
        const byte = chunk[i]!;
        if (!isWhitespace(byte)) this.structural(i, byte);
        i++;
      }
    }
    if (this.state === IN_STRING || this.state === IN_SCALAR) {
      // A copy, so that a token spanning chunks does not keep each whole chunk alive.
      const piece = Buffer.from(chunk.subarray(this.pieceStart));
      this.pieces.push(piece);
      this.pieceBytes += piece.length;
    }
    this.consumed += chunk.length;
  }

  end(): void {
    if (this.state === IN_SCALAR) this.finishScalar(Buffer.concat(this.pieces));
    if (this.state === DONE) return;
    if (this.consumed === 0) throw this.error('NOT_JSON', 'it is empty', 0);
    throw this.error('NOT_JSON', 'it ends before its JSON is complete', this.consumed);
  }

  /** A byte between tokens, at `i` of the current chunk: structure, or the start of a token. */
  private structural(i: number, byte: number): void {
    const offset = this.consumed + i;
    const state = this.state;
    const expectsValue = state === VALUE || state === VALUE_OR_CLOSE;
    if (byte === QUOTE && (expectsValue || state === KEY_OR_CLOSE || state === KEY)) {
      this.tokenIsKey = !expectsValue;
      this.startToken(IN_STRING, i);
    } else if (expectsValue && isScalarByte(byte)) {
      this.startToken(IN_SCALAR, i);
    } else if (expectsValue && (byte === OPEN_OBJECT || byte === OPEN_ARRAY)) {
      if (this.objects.length >= this.limits.maxDepth) throw this.error('TOO_DEEP', `it is nested deeper than ${this.limits.maxDepth} levels`, offset);
      const object = byte === OPEN_OBJECT;
      this.handler.open(object ? 'object' : 'array', this.objects.length);
      this.objects.push(object);
      this.state = object ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
    } else if (byte === CLOSE_OBJECT && (state === KEY_OR_CLOSE || state === NEXT) && this.inObject()) {
      this.close();
    } else if (byte === CLOSE_ARRAY && (state === VALUE_OR_CLOSE || state === NEXT) && this.inArray()) {
      this.close();
    } else if (byte === COMMA && state === NEXT) {
      this.state = this.inObject() ? KEY : VALUE;
    } else if (byte === COLON_BYTE && state === COLON) {
      this.state = VALUE;
    } else {
      throw this.error('NOT_JSON', `${describeByte(byte)} at byte ${offset}, where ${EXPECTED[state]} should be`, offset);
    }
  }

  private startToken(state: number, i: number): void {
    this.state = state;
    this.pieceStart = i;
    this.tokenStart = this.consumed + i;
    this.pieces = [];
    this.pieceBytes = 0;
    this.escaped = false;
  }

  /** Scans a string from `i` (past its opening quote); returns where the scan stopped. */
  private readString(chunk: Buffer, i: number): number {
    const quote = this.closingQuote(chunk, i);
    const end = quote < 0 ? chunk.length : quote + 1;
    if (this.pieceBytes + end - this.pieceStart > this.limits.maxStringBytes + 2) {
      throw this.error('STRING_TOO_LONG', `the string at byte ${this.tokenStart} is longer than ${sizeText(this.limits.maxStringBytes)}`, this.tokenStart);
    }
    if (quote < 0) return end;
    const text =
      this.pieces.length === 0
        ? chunk.toString('utf8', this.pieceStart, end)
        : Buffer.concat([...this.pieces, chunk.subarray(this.pieceStart, end)]).toString('utf8');
    this.pieces = [];
    let value: string;
    try {
      value = JSON.parse(text) as string;
    } catch {
      throw this.error('NOT_JSON', `the string at byte ${this.tokenStart} holds a control character or an invalid escape`, this.tokenStart);
    }
    if (this.tokenIsKey) {
      this.handler.key(value, this.objects.length);
      this.state = COLON;
    } else {
      this.handler.scalar(value, this.objects.length);
      this.afterValue();
    }
    return end;
  }

  /**
   * Where the string's closing quote is in `chunk`, from `at`; -1 when it is not in this chunk.
   * Searched natively (`indexOf`), remembering the next quote and backslash found, so that each
   * byte is looked at a bounded number of times however the string is escaped.
   */
  private closingQuote(chunk: Buffer, at: number): number {
    for (;;) {
      if (this.escaped) {
        if (at >= chunk.length) return -1;
        this.escaped = false;
        at++;
      }
      if (this.nextQuote < at) this.nextQuote = indexOrEnd(chunk, QUOTE, at);
      if (this.nextBackslash < at) this.nextBackslash = indexOrEnd(chunk, BACKSLASH, at);
      if (this.nextBackslash >= this.nextQuote) return this.nextQuote === chunk.length ? -1 : this.nextQuote;
      this.escaped = true;
      at = this.nextBackslash + 1;
    }
  }

  /** Scans a number or literal from `i`; returns the first byte after it, which is not consumed. */
  private readScalar(chunk: Buffer, i: number): number {
    let at = i;
    while (at < chunk.length && isScalarByte(chunk[at]!)) at++;
    if (this.pieceBytes + at - this.pieceStart > MAX_SCALAR_BYTES) {
      throw this.error('NOT_JSON', `the value at byte ${this.tokenStart} is longer than ${MAX_SCALAR_BYTES} characters`, this.tokenStart);
    }
    if (at < chunk.length) this.finishScalar(Buffer.concat([...this.pieces, chunk.subarray(this.pieceStart, at)]));
    return at;
  }

  private finishScalar(bytes: Buffer): void {
    this.pieces = [];
    let value: number | boolean | null;
    try {
      value = JSON.parse(bytes.toString('latin1')) as number | boolean | null;
    } catch {
      throw this.error('NOT_JSON', `the value at byte ${this.tokenStart} is no number, true, false or null`, this.tokenStart);
    }
    this.handler.scalar(value, this.objects.length);
    this.afterValue();
  }

  private close(): void {
    this.objects.pop();
    this.afterValue();
  }

  private afterValue(): void {
    this.state = this.objects.length === 0 ? DONE : NEXT;
  }

  private inObject(): boolean {
    return this.objects.length > 0 && this.objects[this.objects.length - 1]!;
  }

  private inArray(): boolean {
    return this.objects.length > 0 && !this.objects[this.objects.length - 1]!;
  }

  private error(code: JsonStreamErrorCode, what: string, offset: number): JsonStreamError {
    return new JsonStreamError(code, what, offset, this.objects.length);
  }
}

const EXPECTED: Record<number, string> = {
  [VALUE]: 'a value',
  [VALUE_OR_CLOSE]: 'a value or "]"',
  [KEY_OR_CLOSE]: 'a key or "}"',
  [KEY]: 'a key',
  [COLON]: '":"',
  [NEXT]: '"," or the end of the object or array',
  [DONE]: 'the end',
};

/** A byte of the input as a message may show it: printable ASCII quoted, anything else in hex. */
function describeByte(byte: number): string {
  return byte >= 0x21 && byte <= 0x7e ? quoteInput(String.fromCharCode(byte)) : `byte 0x${byte.toString(16).padStart(2, '0')}`;
}
