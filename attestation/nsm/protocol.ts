import { Decoder, Encoder } from 'cbor-x';
import { NsmError, type NsmErrorCode } from './nsm';

/**
 * The wire protocol of the Nitro Secure Module: CBOR messages shaped like serde's externally tagged
 * enums. A request without fields is a text string (`"GetRandom"`); a request with fields is a
 * one-entry map `{Name: {field: value, ...}}` with the fields in the NSM's own order and absent
 * optionals as null. Responses have the same shape, and `{"Error": name}` for a refusal.
 *
 * Pure functions over bytes: the device driver sends what {@link encodeRequest} returns and hands
 * the answer to {@link decodeResponse}; neither ever throws anything but {@link NsmError}.
 */

/** The NSM refuses requests longer than this (the ioctl fails with EMSGSIZE). */
export const NSM_REQUEST_MAX = 4096;
/** The response buffer given to the NSM; a smaller one would be silently truncated. */
export const NSM_RESPONSE_MAX = 12288;
/** The most bytes accepted in each of `user_data`, `nonce` and `public_key`. */
export const NSM_FIELD_MAX = 1024;
/** PCR indexes and ranges are u16 on the wire. */
const U16_MAX = 0xffff;

/** One request to the NSM, named as on the wire. */
export type NsmRequest =
  | { type: 'DescribeNSM' }
  | { type: 'GetRandom' }
  | { type: 'DescribePCR'; index: number }
  | { type: 'ExtendPCR'; index: number; data: Uint8Array }
  | { type: 'LockPCR'; index: number }
  /** Locks PCRs 0 to range - 1. */
  | { type: 'LockPCRs'; range: number }
  | { type: 'Attestation'; userData?: Uint8Array | null; nonce?: Uint8Array | null; publicKey?: Uint8Array | null };

export type NsmRequestType = NsmRequest['type'];

/** What `DescribeNSM` tells about the module. */
export interface NsmDescription {
  versionMajor: number;
  versionMinor: number;
  versionPatch: number;
  moduleId: string;
  maxPcrs: number;
  /** The PCRs locked now, in the order the NSM lists them. */
  lockedPcrs: number[];
  /** The PCR bank's hash, e.g. `SHA384`. */
  digest: string;
}

/** The decoded successful answer to each request type. */
export interface NsmResponses {
  DescribeNSM: NsmDescription;
  GetRandom: Uint8Array;
  DescribePCR: { locked: boolean; data: Uint8Array };
  ExtendPCR: Uint8Array;
  LockPCR: void;
  LockPCRs: void;
  Attestation: Uint8Array;
}

/** The names the NSM may put in `{"Error": name}`, with a sentence for each. */
export const NSM_ERROR_NAMES = {
  InvalidArgument: 'The NSM refused an argument of the request (InvalidArgument).',
  InvalidIndex: 'The NSM has no PCR with that index (InvalidIndex).',
  InvalidResponse: 'The NSM could not produce a valid response (InvalidResponse).',
  ReadOnlyIndex: 'That PCR is read-only: PCRs 0-15 and locked PCRs cannot be extended or locked (ReadOnlyIndex).',
  InvalidOperation: 'The NSM refused the operation (InvalidOperation).',
  BufferTooSmall: 'The response did not fit the buffer given to the NSM (BufferTooSmall).',
  InputTooLarge: 'The request is too large for the NSM (InputTooLarge).',
  InternalError: 'The NSM reported an internal error (InternalError).',
} as const satisfies Partial<Record<NsmErrorCode, string>>;

export type NsmErrorName = keyof typeof NSM_ERROR_NAMES;

// Objects (not Maps, which cbor-x would tag with 259) keep their insertion order, which is the
// NSM's field order. Uint8Arrays are plain byte strings, never tag 64; maps use the smallest header.
const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);

/**
 * The exact CBOR bytes of a request. Refuses, before anything is sent: an index or range that is
 * not an integer in 0..65535 and bytes that are not a Uint8Array (`InvalidArgument`); a `user_data`,
 * `nonce` or `public_key` over 1024 bytes, or a whole request over 4096 bytes (`InputTooLarge`).
 */
export function encodeRequest(request: NsmRequest): Uint8Array {
  const message = requestMessage(request);
  let bytes: Uint8Array;
  try {
    bytes = encoder.encode(message);
  } catch (e) {
    throw new NsmError('InvalidArgument', `The ${request.type} request could not be encoded as CBOR.`, { cause: e });
  }
  if (bytes.length > NSM_REQUEST_MAX) {
    throw new NsmError('InputTooLarge', `The ${request.type} request is ${bytes.length} bytes of CBOR; the NSM accepts at most ${NSM_REQUEST_MAX}.`);
  }
  // A copy, so the caller owns bytes that no later encoding can overwrite.
  return new Uint8Array(bytes);
}

function requestMessage(request: NsmRequest): unknown {
  if (request === null || typeof request !== 'object') {
    throw new NsmError('InvalidArgument', 'An NSM request must be an object with a type.');
  }
  switch (request.type) {
    case 'DescribeNSM':
    case 'GetRandom':
      return request.type;
    case 'DescribePCR':
      return { DescribePCR: { index: u16(request.index, 'PCR index') } };
    case 'ExtendPCR':
      return { ExtendPCR: { index: u16(request.index, 'PCR index'), data: bytes(request.data, 'data to extend the PCR with') } };
    case 'LockPCR':
      return { LockPCR: { index: u16(request.index, 'PCR index') } };
    case 'LockPCRs':
      return { LockPCRs: { range: u16(request.range, 'PCR range') } };
    case 'Attestation':
      return {
        Attestation: {
          user_data: field(request.userData, 'user_data'),
          nonce: field(request.nonce, 'nonce'),
          public_key: field(request.publicKey, 'public_key'),
        },
      };
    default:
      throw new NsmError('InvalidArgument', `Unknown NSM request type ${JSON.stringify(String((request as { type: unknown }).type))}.`);
  }
}

function u16(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U16_MAX) {
    throw new NsmError('InvalidArgument', `The ${what} must be an integer from 0 to ${U16_MAX}, not ${describe(value)}.`);
  }
  return value;
}

function bytes(value: unknown, what: string): Buffer {
  if (!(value instanceof Uint8Array)) {
    throw new NsmError('InvalidArgument', `The ${what} must be a Uint8Array, not ${describe(value)}.`);
  }
  // A view, not a copy: cbor-x writes a Buffer as a plain byte string.
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function field(value: Uint8Array | null | undefined, name: string): Buffer | null {
  if (value === undefined || value === null) return null;
  const b = bytes(value, name);
  if (b.length > NSM_FIELD_MAX) {
    throw new NsmError('InputTooLarge', `The attestation ${name} is ${b.length} bytes; at most ${NSM_FIELD_MAX} are accepted.`);
  }
  return b;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'bytes';
  return `a ${typeof value}`;
}

/**
 * Decodes the NSM's answer to a request of the given type. `{"Error": name}` becomes
 * `NsmError(name)`. Anything else that is not exactly the documented answer to that request
 * (malformed CBOR, trailing bytes, another request's answer, a missing field or one of the wrong
 * type) is `NsmError('InvalidResponse')`. Fields the NSM might add to a structure are ignored, as
 * its own serde client does. Byte strings are returned as fresh copies.
 */
export function decodeResponse<T extends NsmRequestType>(type: T, response: Uint8Array): NsmResponses[T] {
  return decodeAny(type, response) as NsmResponses[T];
}

function decodeAny(type: NsmRequestType, response: Uint8Array): NsmResponses[NsmRequestType] {
  const message = decodeCbor(type, response);
  if (typeof message === 'string') {
    if ((type === 'LockPCR' || type === 'LockPCRs') && message === type) return undefined;
    throw invalid(type, `the text ${JSON.stringify(clip(message))}`);
  }
  if (!(message instanceof Map) || message.size !== 1) throw invalid(type, shape(message));
  const [name, body] = message.entries().next().value as [unknown, unknown];
  if (name === 'Error') {
    if (typeof body === 'string' && Object.prototype.hasOwnProperty.call(NSM_ERROR_NAMES, body)) {
      const code = body as NsmErrorName;
      throw new NsmError(code, `${NSM_ERROR_NAMES[code]} (request: ${type})`);
    }
    throw invalid(type, `an error of unknown kind (${typeof body === 'string' ? JSON.stringify(clip(body)) : shape(body)})`);
  }
  if (name !== type || type === 'LockPCR' || type === 'LockPCRs') {
    throw invalid(type, typeof name === 'string' ? `an answer of kind ${JSON.stringify(clip(name))}` : shape(message));
  }
  if (!(body instanceof Map)) throw invalid(type, `${type} with ${shape(body)} instead of a map`);
  const get = (key: string) => body.get(key);
  switch (type) {
    case 'Attestation':
      return nonEmptyBytes(type, get('document'), 'document');
    case 'GetRandom':
      return byteField(type, get('random'), 'random');
    case 'DescribePCR': {
      const lock = get('lock');
      if (typeof lock !== 'boolean') throw invalid(type, `"lock" as ${shape(lock)} instead of a boolean`);
      return { locked: lock, data: pcrValue(type, get('data')) };
    }
    case 'ExtendPCR':
      return pcrValue(type, get('data'));
    case 'DescribeNSM': {
      const lockedPcrs = get('locked_pcrs');
      if (!Array.isArray(lockedPcrs)) throw invalid(type, `"locked_pcrs" as ${shape(lockedPcrs)} instead of an array`);
      return {
        versionMajor: u16Field(type, get('version_major'), 'version_major'),
        versionMinor: u16Field(type, get('version_minor'), 'version_minor'),
        versionPatch: u16Field(type, get('version_patch'), 'version_patch'),
        moduleId: textField(type, get('module_id'), 'module_id'),
        maxPcrs: u16Field(type, get('max_pcrs'), 'max_pcrs'),
        lockedPcrs: lockedPcrs.map((v, i) => u16Field(type, v, `locked_pcrs[${i}]`)),
        digest: textField(type, get('digest'), 'digest'),
      };
    }
    default:
      // Unreachable for the types above; an unknown type has no known answer.
      throw invalid(type, 'an answer to an unknown request');
  }
}

function decodeCbor(type: NsmRequestType, response: Uint8Array): unknown {
  if (!(response instanceof Uint8Array)) throw invalid(type, `${shape(response)} instead of bytes`);
  if (response.length === 0) throw invalid(type, 'an empty response');
  try {
    // A fresh decoder each time: cbor-x keeps record definitions between calls, and a response
    // must never change how the next one reads. Maps stay Maps, so no key reaches an object.
    const decoder = new Decoder({ mapsAsObjects: false, useRecords: false } as ConstructorParameters<typeof Decoder>[0]);
    return decoder.decode(response);
  } catch (e) {
    throw new NsmError('InvalidResponse', `The NSM's answer to ${type} is not well-formed CBOR (${errorText(e)}).`, { cause: e });
  }
}

function byteField(type: NsmRequestType, value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(type, `"${name}" as ${shape(value)} instead of a byte string`);
  return new Uint8Array(value);
}

function nonEmptyBytes(type: NsmRequestType, value: unknown, name: string): Uint8Array {
  const b = byteField(type, value, name);
  if (b.length === 0) throw invalid(type, `an empty "${name}"`);
  return b;
}

/** A PCR holds a SHA-256, SHA-384 or SHA-512 digest (the NSM uses SHA-384). */
function pcrValue(type: NsmRequestType, value: unknown): Uint8Array {
  const b = byteField(type, value, 'data');
  if (b.length !== 32 && b.length !== 48 && b.length !== 64) throw invalid(type, `a PCR value of ${b.length} bytes`);
  return b;
}

function u16Field(type: NsmRequestType, value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U16_MAX) {
    throw invalid(type, `"${name}" as ${shape(value)} instead of an integer from 0 to ${U16_MAX}`);
  }
  return value;
}

function textField(type: NsmRequestType, value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalid(type, `"${name}" as ${shape(value)} instead of text`);
  return value;
}

function invalid(type: NsmRequestType, what: string): NsmError {
  return new NsmError('InvalidResponse', `The NSM's answer to ${type} is not the expected one: it has ${what}.`);
}

function shape(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (value instanceof Map) return `a map of ${value.size} entries`;
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a byte string';
  if (typeof value === 'object') return 'a tagged or unusual value';
  return `a ${typeof value}`;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function errorText(e: unknown): string {
  try {
    const message = e instanceof Error ? e.message : String(e);
    return clip(message) || 'unreadable';
  } catch {
    return 'unreadable';
  }
}
