import { existsSync } from 'node:fs';
import { IntersectionHash, MAX_RESULT_JWS_CHARS } from '../client';
import { quoteInput } from '../contract/quote-input';
import { InputTooLargeError, STDIN, readChunks, sizeText } from '../contract/read-bounded';
import { type JsonHandler, JsonStreamError, StreamingJsonParser } from './streaming-json';
import { UsageError } from './usage-error';

/**
 * A saved response may be this large: a PSI answer serves its intersection, millions of items,
 * beside a JWS of a few KiB. It is read as it streams, never held whole.
 */
const MAX_RESPONSE_BYTES = 1 << 30;
/** White space a file holding only a JWS may have around it, e.g. the newline an editor adds. */
const MAX_SURROUNDING_SPACE = 4096;
/** How deep a saved response may nest: the ones the example apps serve are two or three levels deep. */
const MAX_RESPONSE_DEPTH = 64;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** What `cloister verify-result` was given to check. */
export interface ResultSource {
  jws: string;
  /**
   * The `intersection` beside the JWS in a saved response, hashed while it was read: `null` when
   * it is no list, absent when the input had none.
   */
  intersection?: IntersectionHash | null;
}

/**
 * Reads the argument of `cloister verify-result`: a compact JWS, or a file (`-`: standard input)
 * holding one or a saved JSON response with a `jws` field. Input that holds no compact JWS at all
 * is bad input, a UsageError (exit status 2), whatever it is; a compact JWS that is no Cloister
 * result is for `verifyResult` to refuse (`BAD_JWS`, exit status 1). Nothing is read past its
 * bound: 16 MiB for a JWS, 1 GiB for a saved response.
 */
export function readResultSource(source: string): ResultSource {
  if (source !== '-' && !existsSync(source)) {
    const literal = source.trim();
    if (COMPACT_JWS.test(literal)) return { jws: literal };
    throw new UsageError(`${quoteInput(source)} is neither a file nor a compact JWS.`);
  }
  const reader = new SourceReader(source === '-' ? 'standard input' : source);
  try {
    readChunks(source === '-' ? STDIN : source, MAX_RESPONSE_BYTES, (chunk) => reader.write(chunk));
  } catch (e) {
    throw reader.failure(e);
  }
  return reader.end();
}

/** Decides from the first byte that is not white space whether the input is a JWS or a JSON response, then reads it as that. */
class SourceReader {
  private mode: 'undecided' | 'jws' | 'response' = 'undecided';
  private readonly text: Buffer[] = [];
  private textBytes = 0;
  private atStart = true;
  private readonly fields: ResponseFields;
  private readonly parser: StreamingJsonParser;

  constructor(private readonly name: string) {
    this.fields = new ResponseFields(name);
    this.parser = new StreamingJsonParser(this.fields, { maxStringBytes: MAX_RESULT_JWS_CHARS, maxDepth: MAX_RESPONSE_DEPTH });
  }

  write(chunk: Buffer): void {
    if (this.mode === 'undecided') {
      let i = this.atStart && UTF8_BOM.every((byte, k) => chunk[k] === byte) ? UTF8_BOM.length : 0;
      this.atStart = false;
      while (i < chunk.length && isSpace(chunk[i]!)) i++;
      if (i === chunk.length) return;
      this.mode = chunk[i] === 0x7b ? 'response' : 'jws';
      chunk = chunk.subarray(i);
    }
    if (this.mode === 'response') return this.parser.write(chunk);
    this.textBytes += chunk.length;
    if (this.textBytes > MAX_RESULT_JWS_CHARS + MAX_SURROUNDING_SPACE) throw this.jwsTooLarge();
    this.text.push(chunk);
  }

  end(): ResultSource {
    if (this.mode === 'undecided') throw new UsageError(`${this.name} is empty: give a compact JWS, or a saved response with a "jws" field.`);
    if (this.mode === 'jws') {
      const jws = Buffer.concat(this.text).toString('utf8').trim();
      if (jws.length > MAX_RESULT_JWS_CHARS) throw this.jwsTooLarge();
      if (!COMPACT_JWS.test(jws)) {
        throw new UsageError(`${this.name} holds neither a compact JWS nor a JSON response with a "jws" field: it starts with ${quoteInput(jws, 20)}.`);
      }
      return { jws };
    }
    try {
      this.parser.end();
    } catch (e) {
      throw this.failure(e);
    }
    return this.fields.source();
  }

  /** The UsageError for what stopped the reading. */
  failure(e: unknown): UsageError {
    if (e instanceof UsageError) return e;
    if (e instanceof InputTooLargeError) {
      if (this.mode !== 'response') return new UsageError(`${this.name} is larger than ${sizeText(e.limit)}, and no JWS or JSON response starts in it.`);
      const file = this.name === 'standard input' ? 'response.json' : this.name;
      return new UsageError(
        `${this.name} is larger than ${sizeText(e.limit)}, the most a saved response may be; verify the JWS alone: jq -r .jws ${file} > result.jws`,
      );
    }
    if (e instanceof JsonStreamError) {
      if (e.code === 'STRING_TOO_LONG' && e.depth === 1 && this.fields.field === 'jws') {
        return new UsageError(`The "jws" field of ${this.name} is longer than ${sizeText(MAX_RESULT_JWS_CHARS)}, the most a signed result may be.`);
      }
      if (e.code === 'NOT_JSON') return new UsageError(`${this.name} starts like a JSON response but is not JSON: ${e.message}.`);
      return new UsageError(`${this.name} is not a response to verify: ${e.message}.`);
    }
    return new UsageError(`Cannot read ${this.name}: ${(e as Error).message}.`);
  }

  private jwsTooLarge(): UsageError {
    return new UsageError(`${this.name} is larger than ${sizeText(MAX_RESULT_JWS_CHARS)}, the most a signed result may be.`);
  }
}

/** The members of a saved response that matter: `jws`, and `intersection` hashed item by item. */
class ResponseFields implements JsonHandler {
  /** The top-level member being read. */
  field: string | undefined;
  private jws: unknown;
  private intersection: IntersectionHash | null | undefined;
  private readonly seen = new Set<string>();

  constructor(private readonly name: string) {}

  key(name: string, depth: number): void {
    if (depth !== 1) return;
    // Parsers disagree on which of two equal keys counts; a response with two is refused, not guessed at.
    if (this.seen.has(name) && (name === 'jws' || name === 'intersection')) throw new UsageError(`${this.name} has two "${name}" fields.`);
    this.seen.add(name);
    this.field = name;
  }

  open(kind: 'object' | 'array', depth: number): void {
    if (depth === 1 && this.field === 'jws') this.jws = null;
    else if (depth === 1 && this.field === 'intersection') this.intersection = kind === 'array' ? new IntersectionHash() : null;
    // An item that is an object or an array: no string, which is all the hash needs to know of it.
    else if (depth === 2 && this.field === 'intersection') this.intersection?.add(null);
  }

  scalar(value: string | number | boolean | null, depth: number): void {
    if (depth === 1 && this.field === 'jws') this.jws = value;
    else if (depth === 1 && this.field === 'intersection') this.intersection = null;
    else if (depth === 2 && this.field === 'intersection') this.intersection?.add(value);
  }

  source(): ResultSource {
    if (typeof this.jws !== 'string') throw new UsageError(`${this.name} is JSON without a "jws" string field.`);
    if (!COMPACT_JWS.test(this.jws)) throw new UsageError(`The "jws" field of ${this.name} is not a compact JWS: it starts with ${quoteInput(this.jws, 20)}.`);
    return this.intersection === undefined ? { jws: this.jws } : { jws: this.jws, intersection: this.intersection };
  }
}

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
