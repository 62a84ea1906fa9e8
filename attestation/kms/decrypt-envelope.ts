import { type KeyObject, constants, createDecipheriv, privateDecrypt } from 'node:crypto';
import { types } from 'node:util';
import { type CmsEnvelope, parseEnvelope } from './envelope';
import { KmsError } from './errors';

const AES_256_KEY_BYTES = 32;

/**
 * Opens a CMS envelope from KMS (the raw `CiphertextForRecipient` bytes) with the recipient's RSA
 * private key: unwraps the content key with RSAES-OAEP-SHA-256, then decrypts
 * AES-256-CBC. Returns the plaintext.
 *
 * AES-CBC carries no integrity check: an altered content block may still decrypt, to garbage. What
 * vouches for the reply's integrity is the TLS connection to KMS, which ends inside the enclave.
 *
 * @throws KmsError `BAD_ENVELOPE` / `UNSUPPORTED_ALGORITHM` (see {@link parseEnvelope});
 *   `BAD_RECIPIENT_KEY` if `privateKey` is not an RSA private key; `NO_MATCHING_RECIPIENT` if no
 *   recipient opens with it; `DECRYPT_FAILED` if the content does not decrypt.
 */
export function decryptEnvelope(envelope: Uint8Array, privateKey: KeyObject): Buffer {
  if (!types.isKeyObject(privateKey) || privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new KmsError('BAD_RECIPIENT_KEY', 'The key given to open the envelope is not an RSA private key (a node:crypto KeyObject).');
  }
  const parsed = parseEnvelope(envelope);
  const contentKey = unwrapContentKey(parsed, privateKey);
  try {
    const decipher = createDecipheriv('aes-256-cbc', contentKey, parsed.iv);
    return Buffer.concat([decipher.update(parsed.encryptedContent), decipher.final()]);
  } catch (cause) {
    throw new KmsError(
      'DECRYPT_FAILED',
      'The envelope content does not decrypt with its content key (bad padding): it was altered in transit or is corrupt; ask KMS again.',
      { cause },
    );
  } finally {
    // The content key is a secret in a Buffer we own; do not leave it for the garbage collector to find.
    contentKey.fill(0);
  }
}

/**
 * Tries each recipient in turn. Recipients are not matched by identifier because KMS names them
 * by a key identifier it derives itself; a wrong key fails OAEP's check instead, reliably.
 */
function unwrapContentKey(envelope: CmsEnvelope, privateKey: KeyObject): Buffer {
  for (const recipient of envelope.recipients) {
    let contentKey: Buffer;
    try {
      contentKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, recipient.encryptedKey);
    } catch {
      continue;
    }
    if (contentKey.length !== AES_256_KEY_BYTES) {
      contentKey.fill(0);
      throw new KmsError(
        'DECRYPT_FAILED',
        `The envelope's content key is ${contentKey.length} bytes, not the ${AES_256_KEY_BYTES} AES-256 needs: the envelope is corrupt; ask KMS again.`,
      );
    }
    return contentKey;
  }
  throw new KmsError(
    'NO_MATCHING_RECIPIENT',
    `None of the envelope's ${envelope.recipients.length} recipient(s) opens with this key: it was made for another key ` +
      '(the reply to another request, or for another enclave). Open each reply with the key whose attestation document asked for it.',
  );
}
