import { InputTooLargeError, STDIN, readBounded, sizeText } from '../contract/read-bounded';
import { UsageError } from './usage-error';

const MAX_INPUT_BYTES = 64 * 1024;

/**
 * Reads a stored attestation document from a file (or `-` for standard input) as raw CBOR, hex or
 * base64, whichever it is. Raw documents start with a CBOR array or tag byte, which is never a
 * hex or base64 character.
 */
export function readDocument(path: string): Uint8Array {
  const name = path === '-' ? 'standard input' : path;
  let bytes: Buffer;
  try {
    bytes = readBounded(path === '-' ? STDIN : path, MAX_INPUT_BYTES);
  } catch (e) {
    if (e instanceof InputTooLargeError) throw new UsageError(`${name} is larger than ${sizeText(MAX_INPUT_BYTES)}; an attestation document is far smaller.`);
    throw new UsageError(`Cannot read ${name}: ${(e as Error).message}.`);
  }
  if (bytes.length === 0) throw new UsageError(`${name} is empty.`);
  if (bytes[0]! >= 0x80) return bytes;
  const text = bytes.toString('latin1').replace(/\s+/g, '');
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  throw new UsageError(`${name} is neither a raw CBOR document nor its hex or base64 text.`);
}
