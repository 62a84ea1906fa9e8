import { asn1, util } from 'node-forge';
import { KmsError } from './errors';

/** A decoded BER element, as node-forge's ASN.1 reader gives it. */
export type BerNode = asn1.Asn1;

/**
 * A tag to expect: class, number and a name for messages. node-forge reads the low-tag-number
 * form only, which is all CMS needs.
 */
export interface BerTag {
  tagClass: number;
  type: number;
  name: string;
}

const universal = (type: number, name: string): BerTag => ({ tagClass: asn1.Class.UNIVERSAL, type, name });
/** The context-specific tag `[n]`. */
export const context = (n: number): BerTag => ({ tagClass: asn1.Class.CONTEXT_SPECIFIC, type: n, name: `[${n}]` });
/** Universal tags CMS uses. */
export const INTEGER = universal(asn1.Type.INTEGER, 'INTEGER');
export const SEQUENCE = universal(asn1.Type.SEQUENCE, 'SEQUENCE');
export const SET = universal(asn1.Type.SET, 'SET');
const OCTET_STRING = universal(asn1.Type.OCTETSTRING, 'OCTET STRING');
const NULL = universal(asn1.Type.NULL, 'NULL');
const OID = universal(asn1.Type.OID, 'OBJECT IDENTIFIER');

/** The typings only know the boolean form; the options object is what turns off speculative BIT STRING decoding. */
type FromDer = (bytes: util.ByteBuffer, options: { strict: boolean; parseAllBytes: boolean; decodeBitStrings: boolean }) => BerNode;

/** A refusal of the envelope's structure, naming the part at fault. */
export function badEnvelope(detail: string, cause?: unknown): KmsError {
  return new KmsError(
    'BAD_ENVELOPE',
    `${detail} The bytes are not a CMS EnvelopedData as KMS returns in CiphertextForRecipient; pass that field of the reply unchanged (raw bytes, not base64).`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Decodes BER, including indefinite lengths, as one element with nothing after it. Strict mode
 * makes truncation an error: the lenient mode would quietly read a shortened value instead.
 */
export function readBer(bytes: Uint8Array): BerNode {
  const buffer = util.createBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('binary'));
  try {
    return (asn1.fromDer as unknown as FromDer)(buffer, { strict: true, parseAllBytes: true, decodeBitStrings: false });
  } catch (cause) {
    throw badEnvelope('The envelope is not well-formed BER (truncated, trailing bytes, bad lengths or nesting too deep).', cause);
  }
}

/** The tag number of a context-specific element (`[n]`), or undefined for any other class. */
export function contextTagNumber(node: BerNode): number | undefined {
  return node.tagClass === asn1.Class.CONTEXT_SPECIFIC ? node.type : undefined;
}

/** Whether an element is present and has the given tag (either form, primitive or constructed). */
export function hasTag(node: BerNode | undefined, tag: BerTag): node is BerNode {
  return node !== undefined && node.tagClass === tag.tagClass && node.type === tag.type;
}

/**
 * The children of a constructed element with the given tag, refusing any other shape or a count
 * outside `[min, max]`: a strict count keeps an unexpected extra field from being ignored.
 */
export function children(node: BerNode | undefined, tag: BerTag, what: string, min: number, max = min): BerNode[] {
  if (!hasTag(node, tag) || !node.constructed || !Array.isArray(node.value)) {
    throw badEnvelope(`${what} is not a constructed ${tag.name}.`);
  }
  if (node.value.length < min || node.value.length > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw badEnvelope(`${what} has ${node.value.length} elements where ${expected} are expected.`);
  }
  return node.value;
}

/** The contents of a primitive element with the given tag. */
export function readPrimitive(node: BerNode | undefined, tag: BerTag, what: string): Buffer {
  if (!hasTag(node, tag) || node.constructed || typeof node.value !== 'string') {
    throw badEnvelope(`${what} is not a primitive ${tag.name}.`);
  }
  return Buffer.from(node.value, 'binary');
}

/** A small non-negative INTEGER, such as a CMS version number. */
export function readSmallInteger(node: BerNode | undefined, what: string): number {
  const bytes = readPrimitive(node, INTEGER, what);
  if (bytes.length < 1 || bytes.length > 4 || bytes[0]! >= 0x80) {
    throw badEnvelope(`${what} is not a small non-negative INTEGER.`);
  }
  return bytes.readUIntBE(0, bytes.length);
}

/** An OBJECT IDENTIFIER in dotted form. */
export function readOid(node: BerNode | undefined, what: string): string {
  const bytes = readPrimitive(node, OID, what);
  // A final byte with the continuation bit set would make node-forge drop the unfinished arc.
  if (bytes.length === 0 || bytes[bytes.length - 1]! >= 0x80) throw badEnvelope(`${what} is not a well-formed OBJECT IDENTIFIER.`);
  try {
    return asn1.derToOid(util.createBuffer(bytes.toString('binary')));
  } catch (cause) {
    throw badEnvelope(`${what} is not a well-formed OBJECT IDENTIFIER.`, cause);
  }
}

/**
 * The contents of an OCTET STRING (or an implicitly tagged one), joining the pieces of the
 * constructed form: BER lets a streaming sender split a string into nested OCTET STRING segments
 * (X.690 8.7), and KMS and `openssl cms -stream` do so for the encrypted content.
 */
export function readOctets(node: BerNode | undefined, what: string, tag: BerTag = OCTET_STRING): Buffer {
  if (!hasTag(node, tag)) {
    throw badEnvelope(`${what} is not ${tag === OCTET_STRING ? 'an OCTET STRING' : `an OCTET STRING tagged ${tag.name}`}.`);
  }
  if (node.constructed) {
    return Buffer.concat(children(node, tag, what, 0, Infinity).map((piece) => readOctets(piece, `a segment of ${what}`)));
  }
  return readPrimitive(node, tag, what);
}

/** Whether an element is an ASN.1 NULL (empty contents), as algorithm parameters often are. */
export function isNull(node: BerNode): boolean {
  return hasTag(node, NULL) && !node.constructed && node.value === '';
}
