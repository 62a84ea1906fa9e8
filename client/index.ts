/**
 * The attested HTTPS client: attest an enclave, and make any Node HTTP library (through
 * `AttestedAgent`) or `fetch` (through `attestedDispatcher`) refuse to send a byte to a server
 * whose TLS key no attestation document under your policy vouches for.
 *
 * @example
 * const policy = loadPolicy('policy.json');
 * const identity = loadIdentity('./alice');
 * const res = await fetch('https://enclave.example/hello', { dispatcher: attestedDispatcher({ policy, identity }) });
 */
export { AttestedAgent, type AttestedAgentOptions } from './agent';
export { type AttestedServer, attest, bindingOf, checkAttestation } from './attest';
export { type AttestedConnectionOptions } from './attested-keys';
export { IntersectionHash, checkIntersection } from './check-intersection';
export { type AttestedDispatcherOptions, attestedDispatcher } from './dispatcher';
export { ClientError, type ClientErrorCode, ResultError, type ResultErrorCode } from './errors';
export { ATTESTATION_PATH, type FetchOptions, type FetchedAttestation, fetchAttestation, httpsOrigin } from './fetch-attestation';
export { type ClientIdentity, IDENTITY_FILES, generateIdentity, loadIdentity } from './identity';
export { type ClientPolicy, loadPolicy, parsePolicy } from './policy';
export { presentedKey, spkiDigest, spkiOf } from './spki';
export { MAX_RESULT_JWS_CHARS, type VerifiedResult, verifyResult } from './verify-result';
export { type SignedResultPayload } from '../contract/signed-result';
