import { CodedError } from '../contract/coded-error';

/**
 * Why an attestation document was refused. Codes are stable: clients, the CLI's `--json` output
 * and logs match on them, so add new ones rather than renaming.
 */
export type AttestationErrorCode =
  /** Not well-formed CBOR, or not a COSE_Sign1 structure of four elements. */
  | 'BAD_CBOR'
  /** The COSE tag is neither absent nor 18. */
  | 'BAD_TAG'
  /** The protected header is not exactly `{1: -35}` (ES384). */
  | 'BAD_ALG'
  /** The payload is missing a key, has an unknown one, or a field of the wrong type or size. */
  | 'BAD_PAYLOAD'
  /** The certificate chain does not lead from the leaf to the pinned root. */
  | 'BAD_CHAIN'
  /** A certificate is not valid at the instant the document is checked at. */
  | 'EXPIRED'
  /** The COSE signature does not verify with the leaf certificate's key. */
  | 'BAD_SIGNATURE'
  /** The root given is not the one pinned (its bytes differ from the pinned digest). */
  | 'ROOT_NOT_PINNED'
  /** A PCR value is not one the policy accepts. */
  | 'PCR_MISMATCH'
  /** PCR0 is all zero: the enclave runs in debug mode and its memory is readable by the host. */
  | 'DEBUG_MODE'
  /** The nonce is not the one the verifier asked for. */
  | 'NONCE_MISMATCH'
  /** The document is older than the policy's maximum age (or dated in the future). */
  | 'STALE'
  /** `public_key` is not the key the policy expects (e.g. the TLS key presented). */
  | 'PUBLIC_KEY_MISMATCH'
  /** The policy's `user_data` check refused the document. */
  | 'USER_DATA_MISMATCH'
  /** The policy itself is malformed (bad PCR hex, negative age, ...). */
  | 'BAD_POLICY';

/** A refusal to trust an attestation document: a stable code and a sentence a person can act on. */
export class AttestationError extends CodedError<AttestationErrorCode> {}
