/**
 * Read, verify and issue AWS Nitro attestation documents. Everything a Cloister client trusts
 * rests on `verifyAttestation`.
 */
export { AttestationError, type AttestationErrorCode } from './errors';
export { type AttestationPayload } from './payload';
export { type AttestationPolicy } from './policy';
export { AWS_NITRO_ROOT_G1_SHA256, type TrustedRoot, awsNitroRoot, rootFromPem } from './roots';
export { type ChainLink } from './verify-chain';
export { MAX_DOCUMENT_BYTES, type VerifiedAttestation, type VerifyOptions, readAttestation, verifyAttestation } from './verify';
