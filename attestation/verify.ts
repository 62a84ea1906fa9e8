import { requireCanonicalEnvelope, requireTag18Only } from './canonical-envelope';
import { type CoseSign1, decodeSign1, requireEs384, verifyEs384 } from './cose-sign1';
import { AttestationError } from './errors';
import { type AttestationPayload, readPayload } from './payload';
import { type AttestationPolicy, checkPolicy } from './policy';
import type { TrustedRoot } from './roots';
import { type ChainLink, verifyChain } from './verify-chain';

/** Largest document accepted; the NSM's response buffer is 12288 bytes. */
export const MAX_DOCUMENT_BYTES = 16_384;

/** An attestation document that verified: authentic, current at the instant given, within policy. */
export interface VerifiedAttestation extends AttestationPayload {
  /** The chain that was verified, root first. */
  chain: ChainLink[];
}

export interface VerifyOptions {
  /** The root to trust, by its bytes: `awsNitroRoot()` in production, the development root locally. */
  root: TrustedRoot;
  /**
   * The instant to verify at: now for a live document, the document's own time for a stored one.
   * There is no default, so no caller checks a stored document against "now" by accident.
   */
  at: Date | number;
  policy?: AttestationPolicy;
}

/**
 * Verifies a Nitro attestation document (COSE_Sign1 bytes): ES384 protected header, payload
 * fields, certificate chain to the pinned root valid at `at`, the signature over the payload as
 * received, then the policy. Every refusal is an AttestationError with a stable code; malformed
 * input never throws anything else.
 *
 * @example
 * const doc = verifyAttestation(bytes, {
 *   root: awsNitroRoot(),
 *   at: Date.now(),
 *   policy: { pcrs: { 0: expectedPcr0 }, nonce, maxAgeMs: 300_000 },
 * });
 * console.log(doc.moduleId, doc.pcrs.get(0));
 */
export function verifyAttestation(bytes: Uint8Array, options: VerifyOptions): VerifiedAttestation {
  const at = instant(options.at);
  const { message, payload } = read(bytes);
  const chain = verifyChain(options.root, payload.cabundle, payload.certificate, at);
  verifyEs384(message, chain.leafKey);
  checkPolicy(payload, options.policy ?? {}, at);
  return { ...payload, chain: chain.links };
}

/**
 * Reads a document's fields WITHOUT verifying anything, for reports about refused documents.
 * Never act on what it returns.
 */
export function readAttestation(bytes: Uint8Array): AttestationPayload {
  return read(bytes).payload;
}

function read(bytes: Uint8Array): { message: CoseSign1; payload: AttestationPayload } {
  if (!(bytes instanceof Uint8Array)) throw new AttestationError('BAD_CBOR', 'The document must be given as bytes.');
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    throw new AttestationError('BAD_CBOR', `The document is ${bytes.length} bytes; attestation documents are at most ${MAX_DOCUMENT_BYTES}.`);
  }
  requireTag18Only(bytes);
  const message = decodeSign1(bytes);
  requireCanonicalEnvelope(bytes, message);
  requireEs384(message);
  return { message, payload: readPayload(message.payload) };
}

function instant(at: Date | number): Date {
  const date = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(date.getTime())) throw new AttestationError('BAD_POLICY', 'The instant to verify at is not a valid date.');
  return date;
}
