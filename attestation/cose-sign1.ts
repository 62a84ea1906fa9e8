import type { KeyObject } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { Tag, decodeCbor } from './cbor';
import { AttestationError } from './errors';
import { verifyP384 } from './verify-p384';

/** The only protected header accepted: `{1: -35}`, i.e. alg ES384, and nothing else. */
export const ES384_PROTECTED_HEADER = Buffer.from('a1013822', 'hex');
const COSE_SIGN1_TAG = 18;
const ES384_SIGNATURE_BYTES = 96;

/** The four parts of a COSE_Sign1 message (RFC 9052, section 4.2), bytes exactly as received. */
export interface CoseSign1 {
  protectedHeader: Uint8Array;
  unprotectedHeader: Map<unknown, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
}

/**
 * Reads a COSE_Sign1 message: untagged or tagged 18 (any other tag is refused), an array of a
 * byte-string protected header, a map, a byte-string payload (detached payloads are not used by
 * attestation) and a byte-string signature.
 */
export function decodeSign1(bytes: Uint8Array): CoseSign1 {
  // cbor-x drops the self-describe tag (55799) without a trace, so look for it in the bytes.
  if (bytes[0] === 0xd9 && bytes[1] === 0xd9 && bytes[2] === 0xf7) {
    throw new AttestationError('BAD_TAG', 'The message is tagged 55799; a COSE_Sign1 message is untagged or tagged 18.');
  }
  let item = decodeCbor(bytes, 'COSE_Sign1 message');
  if (item instanceof Tag) {
    if (item.tag !== COSE_SIGN1_TAG) {
      throw new AttestationError('BAD_TAG', `The message is tagged ${item.tag}; a COSE_Sign1 message is untagged or tagged 18.`);
    }
    item = item.value;
  }
  if (!Array.isArray(item) || item.length !== 4) {
    throw new AttestationError('BAD_CBOR', 'The message is not a COSE_Sign1 structure (an array of four items).');
  }
  const [protectedHeader, unprotectedHeader, payload, signature] = item as unknown[];
  if (!(protectedHeader instanceof Uint8Array) || !(unprotectedHeader instanceof Map)) {
    throw new AttestationError('BAD_CBOR', 'The COSE_Sign1 headers are malformed (a byte string and a map are expected).');
  }
  if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new AttestationError('BAD_CBOR', 'The COSE_Sign1 payload or signature is not a byte string.');
  }
  return { protectedHeader, unprotectedHeader, payload, signature };
}

/**
 * Refuses anything but exactly ES384 in the protected header. An algorithm only in the
 * unprotected header, extra protected parameters, or another algorithm: all `BAD_ALG`, because a
 * verifier that looks elsewhere for `alg` can be steered into checking the wrong thing.
 */
export function requireEs384(message: CoseSign1): void {
  if (!Buffer.from(message.protectedHeader).equals(ES384_PROTECTED_HEADER)) {
    throw new AttestationError('BAD_ALG', 'The protected header is not exactly {alg: ES384}; only ECDSA P-384 with SHA-384 signatures are accepted.');
  }
}

const sigStructureEncoder = new Encoder({ useRecords: false, mapsAsObjects: true });

/**
 * Checks the ES384 signature over the Sig_structure ["Signature1", protected, external_aad,
 * payload], built from the bytes as received (never a re-encoded payload). The signature is IEEE
 * P1363 r‖s; high-S signatures, which real NSMs produce, are accepted.
 */
export function verifyEs384(message: CoseSign1, key: KeyObject, externalAad: Uint8Array = new Uint8Array()): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new AttestationError('BAD_SIGNATURE', 'The signing key is not an ECDSA P-384 key, so it cannot make an ES384 signature.');
  }
  if (message.signature.length !== ES384_SIGNATURE_BYTES) {
    throw new AttestationError('BAD_SIGNATURE', `The signature is ${message.signature.length} bytes; ES384 signatures are 96.`);
  }
  const toBeSigned = sigStructureEncoder.encode(['Signature1', Buffer.from(message.protectedHeader), Buffer.from(externalAad), Buffer.from(message.payload)]);
  if (!verifyP384(toBeSigned, key, message.signature)) {
    throw new AttestationError('BAD_SIGNATURE', 'The signature does not match the document: it was altered or signed by another key.');
  }
}
