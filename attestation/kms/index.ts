/**
 * KMS with attestation: Decrypt, GenerateDataKey and GenerateRandom answered to a fresh enclave
 * key named in an attestation document, and the opening of KMS's CMS envelopes.
 */
export { KmsError, type KmsErrorCode } from './errors';
export { RecipientKey, type RecipientKeySize } from './recipient-key';
export { type CmsEnvelope, type KeyTransRecipient, type RecipientIdentifier, MAX_ENVELOPE_BYTES, parseEnvelope } from './envelope';
export { decryptEnvelope } from './decrypt-envelope';
export {
  type EnclaveDecryptInput,
  type EnclaveDecryptOutput,
  type EnclaveGenerateDataKeyInput,
  type EnclaveGenerateDataKeyOutput,
  type EnclaveGenerateRandomInput,
  type EnclaveGenerateRandomOutput,
  type EnclaveKmsOptions,
  decryptForEnclave,
  generateDataKeyForEnclave,
  generateRandomForEnclave,
} from './kms-recipient';
