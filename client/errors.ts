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
