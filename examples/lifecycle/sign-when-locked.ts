import type { ResultClaims, ResultSigner } from '../../express';

/**
 * About what a signed result holds in memory: the JWS carries the attestation document that
 * vouches for its key (a few KiB, base64url twice), so stores count it with the resource.
 */
export const SIGNED_RESULT_BYTES = 12 * 1024;

/**
 * Starts signing a result the moment it is locked, so that every reader gets the same JWS and
 * waits for one signature at most (the ECDSA work runs off the event loop).
 */
export function signWhenLocked(signer: ResultSigner, claims: ResultClaims): Promise<string> {
  const jws = signer.sign(claims);
  // A failure reaches each reader that awaits the JWS (a 500 there), never the process as an unhandled rejection.
  jws.catch(() => {});
  return jws;
}
