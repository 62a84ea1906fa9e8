import type { CoseSign1 } from './cose-sign1';
import { AttestationError } from './errors';

/** Tag 18 (COSE_Sign1) in its one-byte head: major type 6, value 18. */
const TAG_18_HEAD = 0xd2;
const isTagHead = (byte: number | undefined) => byte !== undefined && byte >> 5 === 6;

/**
 * Refuses, before decoding, a document tagged other than with the single byte d2 (tag 18) around
 * its array: another tag, a longer head, or tags around tags (see requireCanonicalEnvelope).
 */
export function requireTag18Only(bytes: Uint8Array): void {
  if (isTagHead(bytes[0]) && (bytes[0] !== TAG_18_HEAD || isTagHead(bytes[1]))) {
    throw new AttestationError(
      'BAD_TAG',
      'The document is tagged other than with the single byte d2 (tag 18) around its array; it must be untagged or tagged so.',
    );
  }
}

/**
 * Refuses an attestation document whose COSE envelope is not written the one way an NSM writes
 * it. The envelope is not signed, so every other spelling (a non-empty unprotected header, tag 18
 * in a longer head or around another tag, a length written longer than needed) would be a second
 * byte string that verifies as the same document, and whatever pins documents by their bytes
 * (caches, logs, replay checks) would see two. COSE itself allows them; attestation does not.
 */
export function requireCanonicalEnvelope(bytes: Uint8Array, message: CoseSign1): void {
  const tagged = isTagHead(bytes[0]);
  if (message.unprotectedHeader.size !== 0) {
    throw new AttestationError('BAD_CBOR', 'The unprotected header is not empty; nothing outside the signature may be added to a document.');
  }
  if (!Buffer.from(bytes).equals(encodeEnvelope(message, tagged))) {
    throw new AttestationError('BAD_CBOR', 'The COSE envelope is not in its shortest encoding (a length or an array head written longer than needed).');
  }
}

/** The one encoding of a COSE_Sign1 envelope with an empty unprotected header: shortest heads, definite lengths. */
function encodeEnvelope(message: CoseSign1, tagged: boolean): Buffer {
  const parts: Buffer[] = [Buffer.from(tagged ? [TAG_18_HEAD, 0x84] : [0x84])];
  for (const [index, bytes] of [message.protectedHeader, message.payload, message.signature].entries()) {
    if (index === 1) parts.push(Buffer.from([0xa0]));
    parts.push(byteStringHead(bytes.length), Buffer.from(bytes));
  }
  return Buffer.concat(parts);
}

function byteStringHead(length: number): Buffer {
  if (length < 24) return Buffer.from([0x40 + length]);
  if (length < 0x100) return Buffer.from([0x58, length]);
  if (length < 0x10000) return Buffer.from([0x59, length >> 8, length & 0xff]);
  const head = Buffer.alloc(5);
  head[0] = 0x5a;
  head.writeUInt32BE(length, 1);
  return head;
}
