import { existsSync } from 'node:fs';
import { MAX_RESULT_JWS_CHARS } from '../client';
import { quoteInput } from '../contract/quote-input';
import { InputTooLargeError, STDIN, readChunks, sizeText } from '../contract/read-bounded';
import { topLevelKeys } from './top-level-keys';
import { UsageError } from './usage-error';

/**
 * A saved response may be this large: a PSI answer serves its intersection, millions of items,
 * beside a JWS of a few KiB. It is parsed whole, by `JSON.parse`, so a larger one would need more
 * memory than a command line tool should take; its JWS can be verified alone.
 */
const MAX_RESPONSE_BYTES = 256 << 20;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** White space a file holding only a JWS may have around it, e.g. the newline an editor adds. */
const MAX_SURROUNDING_SPACE = 4096;
/** White space, and the bytes of a UTF-8 BOM, which some editors write first. */
const SPACE_OR_BOM = new Set([0x20, 0x0a, 0x0d, 0x09, 0xef, 0xbb, 0xbf]);

/** What `cloister verify-result` was given to check. */
export interface ResultSource {
  jws: string;
  /** The `intersection` beside the JWS in a saved response, as parsed (for `checkIntersection`); absent when the input had none. */
  intersection?: unknown;
}

/**
 * Reads the argument of `cloister verify-result`: a compact JWS, or a file (`-`: standard input)
 * holding one or a saved JSON response with a `jws` field. Input that holds no compact JWS at all
 * is bad input, a UsageError (exit status 2), whatever it is; a compact JWS that is no Cloister
 * result is for `verifyResult` to refuse (`BAD_JWS`, exit status 1). Nothing is read past its
 * bound: 256 MiB, of which a JWS may be 16 MiB.
 */
export function readResultSource(source: string): ResultSource {
  if (source !== '-' && !existsSync(source)) {
    const literal = source.trim();
    if (COMPACT_JWS.test(literal)) return { jws: literal };
    throw new UsageError(`${quoteInput(source)} is neither a file nor a compact JWS.`);
  }
  const name = source === '-' ? 'standard input' : source;
  // A BOM is what some editors put first; JSON.parse and the JWS pattern refuse it.
  const text = read(source, name)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trim();
  if (text === '') throw new UsageError(`${name} is empty: give a compact JWS, or a saved response with a "jws" field.`);
  if (text.startsWith('{')) return responseFields(parseResponse(text, name), name);
  if (text.length > MAX_RESULT_JWS_CHARS) throw jwsTooLarge(name);
  if (!COMPACT_JWS.test(text)) {
    throw new UsageError(`${name} holds neither a compact JWS nor a JSON response with a "jws" field: it starts with ${quoteInput(text, 20)}.`);
  }
  return { jws: text };
}

/**
 * The input, read no further than its bound: 256 MiB once it starts like a JSON response, the
 * most a JWS may be (and some white space around it) otherwise.
 */
function read(source: string, name: string): Buffer {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let json: boolean | undefined;
  try {
    readChunks(source === '-' ? STDIN : source, MAX_RESPONSE_BYTES, (chunk) => {
      chunks.push(chunk);
      bytes += chunk.length;
      json ??= startsLikeJson(chunk) ?? undefined;
      if (json === false && bytes > MAX_RESULT_JWS_CHARS + MAX_SURROUNDING_SPACE) throw jwsTooLarge(name);
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (e instanceof InputTooLargeError) {
      const file = source === '-' ? 'response.json' : source;
      throw new UsageError(
        `${name} is larger than ${sizeText(e.limit)}, the most a saved response may be; verify the JWS alone: jq -r .jws ${file} > result.jws`,
      );
    }
    throw new UsageError(`Cannot read ${name}: ${(e as Error).message}.`);
  }
  return Buffer.concat(chunks);
}

/** Whether `chunk` starts (after white space and a BOM) like JSON; null when it is all white space. */
function startsLikeJson(chunk: Buffer): boolean | null {
  for (const byte of chunk) if (!SPACE_OR_BOM.has(byte)) return byte === 0x7b;
  return null;
}

const jwsTooLarge = (name: string) => new UsageError(`${name} is larger than ${sizeText(MAX_RESULT_JWS_CHARS)}, the most a signed result may be.`);

function parseResponse(text: string, name: string): Record<string, unknown> {
  let response: unknown;
  try {
    response = JSON.parse(text);
  } catch (e) {
    // The parser's message quotes the input: escaped and cut, as anything from the input is.
    throw new UsageError(`${name} starts like a JSON response but is not JSON: ${quoteInput((e as Error).message, 80)}.`);
  }
  if (typeof response !== 'object' || response === null || Array.isArray(response)) throw new UsageError(`${name} is not a JSON object.`);
  const keys = topLevelKeys(text);
  for (const field of ['jws', 'intersection']) {
    // Which of two counts is a parser's choice: a person may read the other. Refused, not guessed at.
    if (keys.filter((key) => key === field).length > 1) throw new UsageError(`${name} has two "${field}" fields.`);
  }
  return response as Record<string, unknown>;
}

/** The members of a saved response that matter: `jws`, and `intersection` when there is one. */
function responseFields(response: Record<string, unknown>, name: string): ResultSource {
  const { jws, intersection } = response;
  if (typeof jws !== 'string') throw new UsageError(`${name} is JSON without a "jws" string field.`);
  if (jws.length > MAX_RESULT_JWS_CHARS) {
    throw new UsageError(`The "jws" field of ${name} is longer than ${sizeText(MAX_RESULT_JWS_CHARS)}, the most a signed result may be.`);
  }
  if (!COMPACT_JWS.test(jws)) throw new UsageError(`The "jws" field of ${name} is not a compact JWS: it starts with ${quoteInput(jws, 20)}.`);
  return 'intersection' in response ? { jws, intersection } : { jws };
}
