import { CodedError } from '../../contract/coded-error';

/**
 * Why a KMS call for the enclave, or the opening of its reply, failed. Codes are stable: callers
 * and logs match on them, so add new ones rather than renaming. Messages never carry a key, a
 * plaintext or the SDK's own message (which the `cause` keeps for debugging).
 */
export type KmsErrorCode =
  /** Not a CMS EnvelopedData as KMS returns in `CiphertextForRecipient`: malformed, truncated, too large, or missing a part. */
  | 'BAD_ENVELOPE'
  /** A well-formed envelope using algorithms other than RSAES-OAEP-SHA-256 key transport and AES-256-CBC content. */
  | 'UNSUPPORTED_ALGORITHM'
  /** No recipient in the envelope opens with the key given: the envelope was made for another key. */
  | 'NO_MATCHING_RECIPIENT'
  /** The content key unwrapped but the content does not decrypt: the envelope was altered or is corrupt. */
  | 'DECRYPT_FAILED'
  /** The key given to open an envelope, or the size asked for a new one, is not a usable RSA private key. */
  | 'BAD_RECIPIENT_KEY'
  /** The KMS call itself failed (permissions, key policy, throttling, network); `awsErrorName` says which. */
  | 'KMS_REQUEST_FAILED'
  /** KMS answered without `CiphertextForRecipient`, so there is nothing only this enclave can open. */
  | 'NO_CIPHERTEXT_FOR_RECIPIENT'
  /** KMS answered with a non-empty `Plaintext`: the secret crossed the host in the clear and must be treated as exposed. */
  | 'PLAINTEXT_IN_RESPONSE'
  /** The reply is inconsistent with the request: a missing `CiphertextBlob`, or a plaintext of the wrong length. */
  | 'BAD_KMS_RESPONSE';

/** A failure of KMS-with-attestation: a stable code and a sentence a person can act on. */
export class KmsError extends CodedError<KmsErrorCode> {
  /** For `KMS_REQUEST_FAILED`: the SDK error's name (e.g. `AccessDeniedException`, `ThrottlingException`). */
  readonly awsErrorName?: string;

  constructor(code: KmsErrorCode, message: string, options?: { cause?: unknown; awsErrorName?: string }) {
    super(code, message, options);
    if (options?.awsErrorName !== undefined) this.awsErrorName = options.awsErrorName;
  }
}
