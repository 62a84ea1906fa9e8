import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Decoder } from 'cbor-x';

/** A fresh directory under the OS temp dir, removed by `cleanup`. */
export function tempDirs(): { make: () => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make: () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'cloister-dev-nsm-'));
      made.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2031-03-04T05:06:07.089Z')): { now: () => number; set: (ms: number) => void; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);

/** The four COSE_Sign1 elements and the decoded payload map, keys in encoded order. */
export interface Decoded {
  protectedHeader: Buffer;
  unprotected: unknown;
  payloadBytes: Buffer;
  signature: Buffer;
  payload: Map<string, unknown>;
}

export function decodeDocument(document: Uint8Array): Decoded {
  const cose = decoder.decode(document) as unknown[];
  if (!Array.isArray(cose) || cose.length !== 4) throw new Error('not a four-element COSE_Sign1 array');
  const [protectedHeader, unprotected, payloadBytes, signature] = cose as [Uint8Array, unknown, Uint8Array, Uint8Array];
  return {
    protectedHeader: Buffer.from(protectedHeader),
    unprotected,
    payloadBytes: Buffer.from(payloadBytes),
    signature: Buffer.from(signature),
    payload: decoder.decode(payloadBytes) as Map<string, unknown>,
  };
}

/** A CBOR byte string header and body, written by hand (independently of the code under test). */
export function cborBytes(bytes: Buffer): Buffer {
  const n = bytes.length;
  const head = n < 24 ? Buffer.of(0x40 + n) : n < 0x100 ? Buffer.of(0x58, n) : n < 0x10000 ? Buffer.of(0x59, n >> 8, n & 0xff) : Buffer.from([0x5a, ...u32(n)]);
  return Buffer.concat([head, bytes]);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** COSE Sig_structure for a COSE_Sign1 with empty external AAD: ["Signature1", protected, h'', payload]. */
export function sigStructure(protectedHeader: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x84, 0x6a), Buffer.from('Signature1'), cborBytes(protectedHeader), Buffer.of(0x40), cborBytes(payload)]);
}

/** The leaf and the cabundle of a decoded document, as node:crypto certificates (cabundle root first). */
export function chainOf(decoded: Decoded): { leaf: X509Certificate; cabundle: X509Certificate[] } {
  return {
    leaf: new X509Certificate(decoded.payload.get('certificate') as Uint8Array),
    cabundle: (decoded.payload.get('cabundle') as Uint8Array[]).map((der) => new X509Certificate(der)),
  };
}
