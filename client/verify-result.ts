import { type JWK, type ProtectedHeaderParameters, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { type VerifiedAttestation, readAttestation, verifyAttestation } from '../attestation';
import { decodeIngressBinding, requireConfigDigest } from '../attestation/ingress-binding';
import { quoteInput } from '../contract/quote-input';
import { RESULT_JWS_ALGORITHM, RESULT_JWS_TYPE, type SignedResultPayload } from '../contract/signed-result';
import { ResultError } from './errors';
import type { ClientPolicy } from './policy';

/** A result is at most this long as a compact JWS; a longer string is refused before any parsing. */
export const MAX_RESULT_JWS_CHARS = 16 << 20;
const HEADER_FIELDS = new Set(['alg', 'typ', 'jwk', 'attestation']);
const PAYLOAD_FIELDS = ['v', 'app', 'resource', 'participants', 'result', 'instance', 'time'];
/** How many unknown header fields a refusal names. */
const SHOWN_FIELDS = 3;

/** A signed result that verified: what it says, and the document that vouches for its key. */
export interface VerifiedResult {
  payload: SignedResultPayload;
  /** The attestation document of the instance that signed, verified under the policy at its own time. */
  document: VerifiedAttestation;
  /** The configuration digest the document binds (hex). */
  configDigest: string;
  /** The instance id (hex) of the enclave that computed the result. */
  instanceId: string;
}

/**
 * Checks a signed result offline: the attestation document (the one in the JWS header, or
 * `options.document`, e.g. one fetched with a fresh nonce) verifies under `policy` at its own time
 * (root, PCRs, debug mode, configuration digest; a stored document's age does not matter), its
 * `user_data` binds the thumbprint of the key in the JWS header and the instance the payload
 * names, and the signature verifies under that key. Refusals are `ResultError`s or, for the
 * document, `AttestationError`s, each with its code.
 *
 * @example
 * const { payload } = await verifyResult(jws, loadPolicy('policy.json'));
 * console.log(payload.app, payload.resource, payload.result); // e.g. millionaire r1 { richest: ['bob'] }
 */
export async function verifyResult(jws: string, policy: ClientPolicy, options: { document?: Uint8Array } = {}): Promise<VerifiedResult> {
  const header = readHeader(jws);
  const bytes = options.document ?? embeddedDocument(header);
  const document = verifyAttestation(bytes, {
    root: policy.root,
    at: readAttestation(bytes).timestamp,
    policy: {
      pcrs: policy.pcrs,
      allowDebug: policy.allowDebug,
      userData: policy.configDigest === undefined ? undefined : requireConfigDigest(policy.configDigest),
    },
  });
  const binding = decodeIngressBinding(document.userData);
  const thumbprint = Buffer.from(await calculateJwkThumbprint(header.jwk, 'sha256'), 'base64url');
  if (!thumbprint.equals(Buffer.from(binding.results))) {
    throw new ResultError(
      'KEY_NOT_ATTESTED',
      'The key that signed this result is not the results key the attestation document binds: it comes from another instance, or from no enclave.',
    );
  }
  let signed: Uint8Array;
  try {
    ({ payload: signed } = await compactVerify(jws, await importJWK(header.jwk, RESULT_JWS_ALGORITHM), { algorithms: [RESULT_JWS_ALGORITHM] }));
  } catch (e) {
    throw new ResultError('BAD_SIGNATURE', 'The signature of this result does not verify: it was changed after the enclave signed it.', { cause: e });
  }
  const payload = readPayload(signed);
  const instanceId = Buffer.from(binding.instance).toString('hex');
  if (payload.instance !== instanceId) {
    throw new ResultError('INSTANCE_MISMATCH', `The result names instance ${quoteInput(payload.instance)}, but the document is of instance ${instanceId}.`);
  }
  return { payload, document, configDigest: Buffer.from(binding.config).toString('hex'), instanceId };
}

interface ResultHeader extends ProtectedHeaderParameters {
  jwk: JWK;
  attestation?: string;
}

function readHeader(jws: string): ResultHeader {
  if (typeof jws !== 'string' || jws.length > MAX_RESULT_JWS_CHARS) throw badJws(`a signed result is a string of at most ${MAX_RESULT_JWS_CHARS} characters`);
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jws)) throw badJws('it is not a compact JWS (three base64url parts separated by dots)');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws);
  } catch (e) {
    throw badJws(`its header is not base64url JSON (${(e as Error).message})`);
  }
  // The header is not signed yet, so whatever it holds is shown by quoteInput: short, escaped, or by type.
  const unknown = Object.keys(header).filter((field) => !HEADER_FIELDS.has(field));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, SHOWN_FIELDS).map((field) => quoteInput(field));
    if (unknown.length > SHOWN_FIELDS) shown.push(`${unknown.length - SHOWN_FIELDS} more`);
    throw badJws(`its header has fields a Cloister result never has: ${shown.join(', ')}`);
  }
  if (header.typ !== RESULT_JWS_TYPE) throw badJws(`its type is ${quoteInput(header.typ)}, not "${RESULT_JWS_TYPE}"`);
  if (header.alg !== RESULT_JWS_ALGORITHM) throw badJws(`it is signed with ${quoteInput(header.alg)}, not "${RESULT_JWS_ALGORITHM}"`);
  const jwk = header.jwk as JWK | undefined;
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-384' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || 'd' in jwk || Object.keys(jwk).length !== 4) {
    throw badJws('its header key is not a public EC P-384 JWK (kty, crv, x, y)');
  }
  if (header.attestation !== undefined && (typeof header.attestation !== 'string' || !/^[A-Za-z0-9_-]+$/.test(header.attestation))) {
    throw badJws('its attestation document is not base64url');
  }
  return header as ResultHeader;
}

function embeddedDocument(header: ResultHeader): Uint8Array {
  if (header.attestation === undefined) {
    throw new ResultError('NO_DOCUMENT', 'This result carries no attestation document; give one of the instance that signed it (--document).');
  }
  return Buffer.from(header.attestation, 'base64url');
}

function readPayload(bytes: Uint8Array): SignedResultPayload {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw badJws('its payload is not JSON');
  }
  const p = value as Partial<SignedResultPayload> | null;
  const valid =
    typeof p === 'object' &&
    p !== null &&
    !Array.isArray(p) &&
    Object.keys(p).length === PAYLOAD_FIELDS.length &&
    PAYLOAD_FIELDS.every((field) => field in p) &&
    p.v === 1 &&
    typeof p.app === 'string' &&
    typeof p.resource === 'string' &&
    Array.isArray(p.participants) &&
    p.participants.every((name) => typeof name === 'string') &&
    typeof p.instance === 'string' &&
    typeof p.time === 'string' &&
    !Number.isNaN(Date.parse(p.time));
  if (!valid) throw badJws(`its payload is not a version 1 result (${PAYLOAD_FIELDS.join(', ')})`);
  return p as SignedResultPayload;
}

const badJws = (why: string) => new ResultError('BAD_JWS', `This is not a signed Cloister result: ${why}.`);
