import { type KeyObject, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { decryptEnvelope } from './decrypt-envelope';
import { KmsError } from './errors';

/** The RSA sizes KMS accepts for a Recipient's key. */
export type RecipientKeySize = 2048 | 3072 | 4096;

const SIZES: readonly number[] = [2048, 3072, 4096];
const generateRsa = promisify(generateKeyPair);

/**
 * A fresh RSA key pair for one KMS request: its public half goes into the attestation document,
 * and only this object can open the reply. The private key is held in an ES private field and is
 * never exported, so it cannot leave the process through this API, a log line or serialisation.
 *
 * A new key per request means a captured reply can never be opened later by a key that outlived
 * it, and no one can probe a long-lived key with crafted envelopes.
 */
export class RecipientKey {
  readonly #privateKey: KeyObject;

  /** DER SubjectPublicKeyInfo of the public key: the attestation document's `public_key`. */
  readonly publicKeyDer: Buffer;

  private constructor(privateKey: KeyObject, publicKeyDer: Buffer) {
    this.#privateKey = privateKey;
    this.publicKeyDer = publicKeyDer;
  }

  /**
   * Generates a key pair (off the main thread) of the given size, 2048 bits by default.
   *
   * @throws KmsError `BAD_RECIPIENT_KEY` for a size KMS does not accept.
   */
  static async generate(size: RecipientKeySize = 2048): Promise<RecipientKey> {
    if (!SIZES.includes(size)) {
      throw new KmsError('BAD_RECIPIENT_KEY', `An RSA recipient key of ${String(size)} bits was asked for; KMS accepts ${SIZES.join(', ')}.`);
    }
    const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: size });
    return new RecipientKey(privateKey, publicKey.export({ type: 'spki', format: 'der' }));
  }

  /**
   * Opens a `CiphertextForRecipient` that KMS made for this key's attestation document.
   *
   * @throws KmsError as {@link decryptEnvelope} does.
   */
  open(ciphertextForRecipient: Uint8Array): Buffer {
    return decryptEnvelope(ciphertextForRecipient, this.#privateKey);
  }
}
