import { CodedError } from '../contract/coded-error';

/**
 * Why the client could not reach, or would not trust, a server for reasons other than the
 * attestation document itself (those are `AttestationError`s). Codes are stable.
 */
export type ClientErrorCode =
  /** The URL is not an `https:` URL: Cloister servers are reached over TLS only. */
  | 'BAD_URL'
  /** No TCP or TLS connection could be made (refused, unknown host, handshake failure). */
  | 'UNREACHABLE'
  /** The server did not complete the handshake, or answer the attestation request, in time. */
  | 'TIMEOUT'
  /** The server answered the attestation request without a document (not 200, or too large). */
  | 'NO_ATTESTATION'
  /** A client identity directory is missing, incomplete, or its key and certificate do not match. */
  | 'BAD_IDENTITY'
  /** `generateIdentity` found an identity already there; it never overwrites a key. */
  | 'IDENTITY_EXISTS';

/**
 * A client-side refusal or failure with a stable code and a sentence a person can act on.
 *
 * @example
 * try {
 *   await attest('https://enclave.example:443', policy);
 * } catch (e) {
 *   if (e instanceof ClientError && e.code === 'UNREACHABLE') retryLater();
 *   else throw e;
 * }
 */
export class ClientError extends CodedError<ClientErrorCode> {}

/** Why a signed result was refused, beyond its attestation document (whose refusals are `AttestationError`s). */
export type ResultErrorCode =
  /** Not a compact JWS of a Cloister result: malformed, another `typ` or `alg`, a header key that is no public P-384 key, or a payload of another shape. */
  | 'BAD_JWS'
  /** The JWS carries no attestation document and none was given. */
  | 'NO_DOCUMENT'
  /** The key that signed is not the results key the document binds: another instance's, or nobody's. */
  | 'KEY_NOT_ATTESTED'
  /** The result names another instance than the document's. */
  | 'INSTANCE_MISMATCH'
  /** The signature does not verify: the header or the payload was changed after signing. */
  | 'BAD_SIGNATURE'
  /** The intersection list served beside a PSI result is not the one whose SHA-256 the result signs (`checkIntersection`). */
  | 'INTERSECTION_MISMATCH';

/**
 * A signed result that does not prove what it says, with a stable code.
 *
 * @example
 * try {
 *   await verifyResult(jws, policy);
 * } catch (e) {
 *   if (e instanceof ResultError || e instanceof AttestationError) console.error(e.code, e.message);
 * }
 */
export class ResultError extends CodedError<ResultErrorCode> {}
