import {
  DecryptCommand,
  type DecryptCommandInput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandInput,
  GenerateRandomCommand,
  type GenerateRandomCommandInput,
  KeyEncryptionMechanism,
  type KMSClient,
  type RecipientInfo,
} from '@aws-sdk/client-kms';
import type { Nsm } from '../nsm/nsm';
import { KmsError } from './errors';
import { RecipientKey, type RecipientKeySize } from './recipient-key';

/** Options shared by the enclave's KMS calls. */
export interface EnclaveKmsOptions {
  /** Size of the fresh RSA key generated for the call; 2048 bits by default. */
  keySize?: RecipientKeySize;
}

/** A Decrypt request; the Recipient is always set by {@link decryptForEnclave} itself. */
export type EnclaveDecryptInput = Omit<DecryptCommandInput, 'Recipient'>;
/** A GenerateDataKey request; the Recipient is always set by {@link generateDataKeyForEnclave} itself. */
export type EnclaveGenerateDataKeyInput = Omit<GenerateDataKeyCommandInput, 'Recipient'>;
/** A GenerateRandom request; the Recipient is always set by {@link generateRandomForEnclave} itself. */
export type EnclaveGenerateRandomInput = Omit<GenerateRandomCommandInput, 'Recipient' | 'NumberOfBytes'> & { NumberOfBytes: number };

/** Decrypt's result, opened inside the enclave. */
export interface EnclaveDecryptOutput {
  Plaintext: Buffer;
  /** The ARN of the KMS key that decrypted. */
  KeyId: string | undefined;
}

/** GenerateDataKey's result: the data key in the clear (inside the enclave only) and encrypted under the KMS key. */
export interface EnclaveGenerateDataKeyOutput {
  Plaintext: Buffer;
  /** The data key encrypted under the KMS key: safe to store beside the data, opened later with {@link decryptForEnclave}. */
  CiphertextBlob: Uint8Array;
  KeyId: string | undefined;
}

/** GenerateRandom's result, opened inside the enclave. */
export interface EnclaveGenerateRandomOutput {
  Plaintext: Buffer;
}

/** The reply fields every Recipient-capable operation shares. */
interface RecipientReply {
  Plaintext?: Uint8Array | undefined;
  CiphertextForRecipient?: Uint8Array | undefined;
}

const AES_KEY_BYTES: Record<string, number> = { AES_128: 16, AES_256: 32 };

/**
 * KMS Decrypt for the enclave: KMS returns the plaintext encrypted to a fresh key whose attestation
 * document it checked against the key policy (`kms:RecipientAttestation:*`), and only this process
 * can open it.
 *
 * @throws KmsError `KMS_REQUEST_FAILED`, `PLAINTEXT_IN_RESPONSE`, `NO_CIPHERTEXT_FOR_RECIPIENT`,
 *   or any code of {@link decryptEnvelope}; NsmError if the NSM refuses the attestation.
 */
export async function decryptForEnclave(kms: KMSClient, nsm: Nsm, input: EnclaveDecryptInput, options: EnclaveKmsOptions = {}): Promise<EnclaveDecryptOutput> {
  const { reply, plaintext } = await callWithRecipient('Decrypt', nsm, options, (Recipient) => kms.send(new DecryptCommand({ ...input, Recipient })));
  return { Plaintext: plaintext, KeyId: reply.KeyId };
}

/**
 * KMS GenerateDataKey for the enclave: a data key that only this process sees in the clear, and
 * its copy encrypted under the KMS key for storage.
 *
 * @throws KmsError as {@link decryptForEnclave}, and `BAD_KMS_RESPONSE` if the reply has no
 *   `CiphertextBlob` or a key of another length than asked for.
 */
export async function generateDataKeyForEnclave(
  kms: KMSClient,
  nsm: Nsm,
  input: EnclaveGenerateDataKeyInput,
  options: EnclaveKmsOptions = {},
): Promise<EnclaveGenerateDataKeyOutput> {
  const { reply, plaintext } = await callWithRecipient('GenerateDataKey', nsm, options, (Recipient) =>
    kms.send(new GenerateDataKeyCommand({ ...input, Recipient })),
  );
  const expected = input.NumberOfBytes ?? (input.KeySpec === undefined ? undefined : AES_KEY_BYTES[input.KeySpec]);
  requireLength('GenerateDataKey', plaintext, expected);
  if (reply.CiphertextBlob === undefined || reply.CiphertextBlob.length === 0) {
    plaintext.fill(0);
    // Without the encrypted copy the data key could never be recovered, so data sealed with it would be lost.
    throw new KmsError('BAD_KMS_RESPONSE', 'KMS GenerateDataKey answered without a CiphertextBlob, so the data key could not be stored; ask again.');
  }
  return { Plaintext: plaintext, CiphertextBlob: reply.CiphertextBlob, KeyId: reply.KeyId };
}

/**
 * KMS GenerateRandom for the enclave: random bytes that only this process sees.
 *
 * @throws KmsError as {@link decryptForEnclave}, and `BAD_KMS_RESPONSE` if the reply has another
 *   length than asked for.
 */
export async function generateRandomForEnclave(
  kms: KMSClient,
  nsm: Nsm,
  input: EnclaveGenerateRandomInput,
  options: EnclaveKmsOptions = {},
): Promise<EnclaveGenerateRandomOutput> {
  const { plaintext } = await callWithRecipient('GenerateRandom', nsm, options, (Recipient) => kms.send(new GenerateRandomCommand({ ...input, Recipient })));
  requireLength('GenerateRandom', plaintext, input.NumberOfBytes);
  return { Plaintext: plaintext };
}

/**
 * The flow every operation shares: a fresh key, an attestation document carrying its public key,
 * the call with that Recipient, and the opening of the reply. The Recipient is set after the
 * caller's fields so that no input can replace it.
 */
async function callWithRecipient<R extends RecipientReply>(
  operation: string,
  nsm: Nsm,
  options: EnclaveKmsOptions,
  send: (recipient: RecipientInfo) => Promise<R>,
): Promise<{ reply: R; plaintext: Buffer }> {
  const key = await RecipientKey.generate(options.keySize);
  const AttestationDocument = await nsm.attestation({ publicKey: key.publicKeyDer });
  let reply: R | undefined;
  try {
    reply = await send({ KeyEncryptionAlgorithm: KeyEncryptionMechanism.RSAES_OAEP_SHA_256, AttestationDocument });
  } catch (cause) {
    throw requestFailed(operation, cause);
  }
  if (reply?.Plaintext !== undefined && reply.Plaintext.length > 0) {
    throw new KmsError(
      'PLAINTEXT_IN_RESPONSE',
      `KMS ${operation} answered with the plaintext itself: it crossed the host in the clear. Treat that secret as exposed ` +
        '(rotate it), and check that the request reached KMS with its Recipient (SDK version, endpoint, any proxy rewriting requests).',
    );
  }
  if (reply?.CiphertextForRecipient === undefined || reply.CiphertextForRecipient.length === 0) {
    throw new KmsError(
      'NO_CIPHERTEXT_FOR_RECIPIENT',
      `KMS ${operation} answered without CiphertextForRecipient, so there is nothing only this enclave can open. ` +
        'Check that the endpoint is KMS itself and that the SDK sends the Recipient parameter.',
    );
  }
  return { reply, plaintext: key.open(reply.CiphertextForRecipient) };
}

function requireLength(operation: string, plaintext: Buffer, expected: number | undefined): void {
  if (expected !== undefined && plaintext.length !== expected) {
    const got = plaintext.length;
    plaintext.fill(0);
    throw new KmsError('BAD_KMS_RESPONSE', `KMS ${operation} returned ${got} bytes where ${expected} were asked for; the reply is unusable.`);
  }
}

/** Wraps an SDK failure, naming the AWS error but never repeating its message, which the cause keeps. */
function requestFailed(operation: string, cause: unknown): KmsError {
  const name = cause instanceof Error ? cause.name : 'UnknownError';
  const hint =
    name === 'AccessDeniedException'
      ? "Check the caller's IAM permissions and the key policy's kms:RecipientAttestation conditions " +
        '(ImageSha384 is PCR0, PCR16 the config digest) against this enclave.'
      : 'The SDK error is attached as the cause.';
  return new KmsError('KMS_REQUEST_FAILED', `KMS ${operation} failed with ${name}. ${hint}`, { cause, awsErrorName: name });
}
