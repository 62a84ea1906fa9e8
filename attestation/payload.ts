import { decodeCbor } from './cbor';
import { AttestationError } from './errors';

/** The nine payload keys, in the order the NSM writes them. */
export const PAYLOAD_KEYS = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce'] as const;

/** Largest `user_data`, `nonce` and `public_key` accepted (the NSM's own limit; see platform facts). */
export const MAX_OPTIONAL_FIELD_BYTES = 1024;
const MAX_CERTIFICATE_BYTES = 1024;
const MAX_CABUNDLE = 16;
const MAX_MODULE_ID_CHARS = 256;
const PCR_BYTES = 48;
const MAX_PCR_INDEX = 31;

/** The payload of an attestation document, read and type-checked but not yet trusted. */
export interface AttestationPayload {
  moduleId: string;
  /** Always "SHA384" for Nitro. */
  digest: 'SHA384';
  /** When the NSM made the document, in ms since 1970 (UTC). */
  timestamp: number;
  /** PCR values by index, as lower-case hex. */
  pcrs: Map<number, string>;
  /** The leaf certificate (DER) whose key signed the document. */
  certificate: Uint8Array;
  /** CA certificates (DER), root first: [root, regional, zonal, instance]. */
  cabundle: Uint8Array[];
  publicKey: Uint8Array | null;
  userData: Uint8Array | null;
  nonce: Uint8Array | null;
}

/**
 * Reads the attestation payload (a definite or indefinite-length map) and checks every field's
 * type and size against the AWS specification: all nine keys present, nothing else, nulls for
 * absent optional fields, PCR keys integers 0–31 with 48-byte values.
 */
export function readPayload(bytes: Uint8Array): AttestationPayload {
  const map = decodeCbor(bytes, 'attestation payload');
  if (!(map instanceof Map)) throw bad('the payload is not a CBOR map');
  for (const key of map.keys()) {
    if (!(PAYLOAD_KEYS as readonly unknown[]).includes(key)) throw bad(`the payload has an unexpected key ${describeKey(key)}`);
  }
  for (const key of PAYLOAD_KEYS) if (!map.has(key)) throw bad(`the payload has no "${key}"`);

  const moduleId = map.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0 || moduleId.length > MAX_MODULE_ID_CHARS) {
    throw bad(`"module_id" must be a non-empty text of at most ${MAX_MODULE_ID_CHARS} characters`);
  }
  if (map.get('digest') !== 'SHA384') throw bad('"digest" must be "SHA384"');
  const timestamp = map.get('timestamp');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw bad('"timestamp" must be a positive integer number of milliseconds');
  }
  const certificate = bytesField(map, 'certificate', 1, MAX_CERTIFICATE_BYTES);
  const cabundle = map.get('cabundle');
  if (!Array.isArray(cabundle) || cabundle.length === 0 || cabundle.length > MAX_CABUNDLE) {
    throw bad(`"cabundle" must be an array of 1 to ${MAX_CABUNDLE} certificates`);
  }
  cabundle.forEach((cert, i) => {
    if (!(cert instanceof Uint8Array) || cert.length === 0 || cert.length > MAX_CERTIFICATE_BYTES) {
      throw bad(`"cabundle"[${i}] must be a certificate of 1 to ${MAX_CERTIFICATE_BYTES} bytes`);
    }
  });

  return {
    moduleId,
    digest: 'SHA384',
    timestamp,
    pcrs: readPcrs(map.get('pcrs')),
    certificate,
    cabundle: cabundle as Uint8Array[],
    publicKey: optionalBytes(map, 'public_key'),
    userData: optionalBytes(map, 'user_data'),
    nonce: optionalBytes(map, 'nonce'),
  };
}

function readPcrs(value: unknown): Map<number, string> {
  if (!(value instanceof Map) || value.size === 0 || value.size > MAX_PCR_INDEX + 1) {
    throw bad(`"pcrs" must be a map of 1 to ${MAX_PCR_INDEX + 1} entries`);
  }
  const pcrs = new Map<number, string>();
  for (const [index, pcr] of value) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > MAX_PCR_INDEX) {
      throw bad(`PCR index ${describeKey(index)} is not an integer from 0 to ${MAX_PCR_INDEX}`);
    }
    if (!(pcr instanceof Uint8Array) || pcr.length !== PCR_BYTES) {
      throw bad(`PCR${index} must be ${PCR_BYTES} bytes (a SHA-384 digest)`);
    }
    pcrs.set(index, Buffer.from(pcr).toString('hex'));
  }
  return pcrs;
}

function bytesField(map: Map<unknown, unknown>, key: string, min: number, max: number): Uint8Array {
  const value = map.get(key);
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    throw bad(`"${key}" must be a byte string of ${min} to ${max} bytes`);
  }
  return value;
}

function optionalBytes(map: Map<unknown, unknown>, key: string): Uint8Array | null {
  return map.get(key) === null ? null : bytesField(map, key, 0, MAX_OPTIONAL_FIELD_BYTES);
}

const describeKey = (key: unknown) => (typeof key === 'string' ? `"${key.slice(0, 40)}"` : typeof key === 'number' ? String(key) : `of type ${typeof key}`);

const bad = (what: string) => new AttestationError('BAD_PAYLOAD', `The document is malformed: ${what}.`);
