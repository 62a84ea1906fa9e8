import { types } from 'node:util';
import {
  type BerNode,
  INTEGER,
  SEQUENCE,
  SET,
  badEnvelope,
  children,
  context,
  contextTagNumber,
  hasTag,
  isNull,
  readBer,
  readOctets,
  readOid,
  readPrimitive,
  readSmallInteger,
} from './ber';
import { KmsError } from './errors';

/**
 * The largest envelope read. KMS returns at most 4096 bytes of plaintext (Decrypt), so its
 * envelopes are a few kilobytes; the cap bounds the work any input can cause.
 */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

/** How a key transport recipient is named: by key identifier (KMS) or by certificate issuer and serial. */
export type RecipientIdentifier = { kind: 'subjectKeyIdentifier'; keyIdentifier: Buffer } | { kind: 'issuerAndSerialNumber'; serialNumber: Buffer };

/** A KeyTransRecipientInfo (RFC 5652, 6.2.1) whose key encryption was checked to be RSAES-OAEP with SHA-256. */
export interface KeyTransRecipient {
  /** 2 with a key identifier, 0 with issuer and serial number. */
  version: number;
  id: RecipientIdentifier;
  keyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256';
  /** The content key, encrypted to the recipient's RSA public key. */
  encryptedKey: Buffer;
}

/**
 * A CMS EnvelopedData (RFC 5652, section 6) as KMS returns it in `CiphertextForRecipient`, with
 * its algorithms checked: only what KMS uses is accepted, so nothing weaker can be substituted.
 */
export interface CmsEnvelope {
  version: number;
  recipients: KeyTransRecipient[];
  contentEncryptionAlgorithm: 'AES_256_CBC';
  /** The AES-CBC initialisation vector, 16 bytes. */
  iv: Buffer;
  /** The encrypted content, a whole number of AES blocks (pieces of the constructed form joined). */
  encryptedContent: Buffer;
}

const ID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const ID_DATA = '1.2.840.113549.1.7.1';
const RSAES_OAEP = '1.2.840.113549.1.1.7';
const MGF1 = '1.2.840.113549.1.1.8';
const P_SPECIFIED = '1.2.840.113549.1.1.9';
const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';
const AES_BLOCK_BYTES = 16;

/** Names for the identifiers a person is likely to meet instead, so a refusal says what was found. */
const NAMES: Record<string, string> = {
  [ID_ENVELOPED_DATA]: 'EnvelopedData',
  [ID_DATA]: 'id-data',
  '1.2.840.113549.1.7.2': 'SignedData',
  '1.2.840.113549.1.9.16.1.23': 'AuthEnvelopedData',
  '1.2.840.113549.1.1.1': 'rsaEncryption (PKCS#1 v1.5)',
  [RSAES_OAEP]: 'RSAES-OAEP',
  [SHA1]: 'SHA-1',
  [SHA256]: 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
  '2.16.840.1.101.3.4.1.2': 'AES-128-CBC',
  '2.16.840.1.101.3.4.1.22': 'AES-192-CBC',
  [AES_256_CBC]: 'AES-256-CBC',
  '2.16.840.1.101.3.4.1.46': 'AES-256-GCM',
  '1.2.840.113549.3.7': 'DES-EDE3-CBC',
};
const named = (oid: string) => NAMES[oid] ?? `OID ${oid}`;

/** The RecipientInfo choices other than key transport (RFC 5652, 6.2), by their implicit tag. */
const OTHER_RECIPIENT_KINDS: Record<number, string> = {
  1: 'key agreement',
  2: 'KEK',
  3: 'password',
  4: 'other-type',
};

function unsupported(detail: string): KmsError {
  return new KmsError(
    'UNSUPPORTED_ALGORITHM',
    `${detail} Only RSAES-OAEP with SHA-256 and MGF1-SHA-256 key transport and AES-256-CBC content are accepted, as KMS produces for a Recipient.`,
  );
}

/**
 * Reads a `CiphertextForRecipient` (BER or DER CMS ContentInfo holding an EnvelopedData) into a
 * typed envelope, checking every algorithm on the way.
 *
 * @throws KmsError `BAD_ENVELOPE` for malformed, truncated, oversized or incomplete input;
 *   `UNSUPPORTED_ALGORITHM` for a well-formed envelope using other algorithms or recipient kinds.
 */
export function parseEnvelope(bytes: Uint8Array): CmsEnvelope {
  // types.isUint8Array, unlike instanceof, also accepts bytes made in another realm (vm context, worker).
  if (!types.isUint8Array(bytes)) throw badEnvelope('The envelope is not a byte array.');
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw badEnvelope(`The envelope is ${bytes.length} bytes, more than the ${MAX_ENVELOPE_BYTES} read.`);
  }
  const [contentType, content] = children(readBer(bytes), SEQUENCE, 'ContentInfo', 2);
  const type = readOid(contentType, 'ContentInfo.contentType');
  if (type !== ID_ENVELOPED_DATA) throw badEnvelope(`ContentInfo holds ${named(type)}, not EnvelopedData.`);
  const [envelopedData] = children(content, context(0), 'ContentInfo.content', 1);
  return readEnvelopedData(envelopedData!);
}

function readEnvelopedData(node: BerNode): CmsEnvelope {
  const fields = children(node, SEQUENCE, 'EnvelopedData', 3, 5);
  let next = 0;
  const version = readSmallInteger(fields[next++], 'EnvelopedData.version');
  // 3 and 4 announce password or other recipients, or attribute certificates: none of them KMS's.
  if (version !== 0 && version !== 2) throw badEnvelope(`EnvelopedData.version is ${version}; a key transport envelope has 0 or 2.`);
  // originatorInfo only helps a recipient find its certificate; a fresh enclave key has none to find.
  if (hasTag(fields[next], context(0))) next++;
  const recipients = children(fields[next++], SET, 'EnvelopedData.recipientInfos', 1, Infinity).map((info, i) =>
    readRecipientInfo(info, `EnvelopedData.recipientInfos[${i}]`),
  );
  const content = readEncryptedContentInfo(fields[next++]);
  // unprotectedAttrs are unauthenticated metadata; the plaintext does not depend on them.
  if (hasTag(fields[next], context(1))) next++;
  if (next !== fields.length) throw badEnvelope('EnvelopedData has unexpected elements after EncryptedContentInfo.');
  return { version, recipients, ...content };
}

function readRecipientInfo(node: BerNode, what: string): KeyTransRecipient {
  const other = OTHER_RECIPIENT_KINDS[contextTagNumber(node) ?? -1];
  if (other !== undefined) throw unsupported(`${what} is a ${other} recipient, not key transport.`);
  const [versionNode, rid, algorithm, encryptedKey] = children(node, SEQUENCE, what, 4);
  const version = readSmallInteger(versionNode, `${what}.version`);
  let id: RecipientIdentifier;
  if (version === 2) {
    id = { kind: 'subjectKeyIdentifier', keyIdentifier: readOctets(rid, `${what}.subjectKeyIdentifier`, context(0)) };
  } else if (version === 0) {
    const [issuer, serialNumber] = children(rid, SEQUENCE, `${what}.issuerAndSerialNumber`, 2);
    children(issuer, SEQUENCE, `${what}.issuerAndSerialNumber.issuer`, 0, Infinity);
    id = { kind: 'issuerAndSerialNumber', serialNumber: readPrimitive(serialNumber, INTEGER, `${what}.issuerAndSerialNumber.serialNumber`) };
  } else {
    throw badEnvelope(`${what}.version is ${version}; a key transport recipient has 0 or 2.`);
  }
  requireOaepSha256(algorithm, `${what}.keyEncryptionAlgorithm`);
  return {
    version,
    id,
    keyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
    encryptedKey: readOctets(encryptedKey, `${what}.encryptedKey`),
  };
}

/** An AlgorithmIdentifier: an OID and, if present, its parameters. */
function readAlgorithm(node: BerNode | undefined, what: string): { oid: string; parameters: BerNode | undefined } {
  const [oid, parameters] = children(node, SEQUENCE, what, 1, 2);
  return { oid: readOid(oid, `${what}.algorithm`), parameters };
}

/** A hash AlgorithmIdentifier's OID; RFC 4055 allows its parameters absent or NULL (openssl omits them, KMS sends NULL). */
function readHash(node: BerNode | undefined, what: string): string {
  const { oid, parameters } = readAlgorithm(node, what);
  if (parameters !== undefined && !isNull(parameters)) throw badEnvelope(`${what} has parameters other than NULL.`);
  return oid;
}

/**
 * Requires RSAES-OAEP (RFC 8017, A.2.1) with SHA-256, MGF1-SHA-256 and an empty label. Absent
 * fields take the RFC's defaults, SHA-1 and MGF1-SHA-1, which are refused like any other hash.
 */
function requireOaepSha256(node: BerNode | undefined, what: string): void {
  const { oid, parameters } = readAlgorithm(node, what);
  if (oid !== RSAES_OAEP) throw unsupported(`${what} is ${named(oid)}.`);
  let hash = SHA1;
  let maskHash = SHA1;
  let label: Buffer = Buffer.alloc(0);
  const fields = parameters === undefined || isNull(parameters) ? [] : children(parameters, SEQUENCE, `${what}.parameters`, 0, 3);
  let previous = -1;
  for (const field of fields) {
    const tag = contextTagNumber(field) ?? -1;
    if (tag <= previous || tag > 2) throw badEnvelope(`${what}.parameters has an unknown, repeated or misplaced field.`);
    previous = tag;
    const [value] = children(field, context(tag), `${what}.parameters[${tag}]`, 1);
    if (tag === 0) {
      hash = readHash(value, `${what}.parameters.hashAlgorithm`);
    } else if (tag === 1) {
      const mask = readAlgorithm(value, `${what}.parameters.maskGenAlgorithm`);
      if (mask.oid !== MGF1) throw unsupported(`${what} uses the mask generation function ${named(mask.oid)}, not MGF1.`);
      maskHash = readHash(mask.parameters, `${what}.parameters.maskGenAlgorithm.parameters`);
    } else {
      const source = readAlgorithm(value, `${what}.parameters.pSourceAlgorithm`);
      if (source.oid !== P_SPECIFIED) throw unsupported(`${what} uses the label source ${named(source.oid)}, not pSpecified.`);
      label = readOctets(source.parameters, `${what}.parameters.pSourceAlgorithm.parameters`);
    }
  }
  if (hash !== SHA256 || maskHash !== SHA256) {
    throw unsupported(`${what} is RSAES-OAEP with ${named(hash)} and MGF1 with ${named(maskHash)}.`);
  }
  if (label.length > 0) throw unsupported(`${what} is RSAES-OAEP with a non-empty label.`);
}

function readEncryptedContentInfo(node: BerNode | undefined): Pick<CmsEnvelope, 'contentEncryptionAlgorithm' | 'iv' | 'encryptedContent'> {
  const [typeNode, algorithm, encrypted] = children(node, SEQUENCE, 'EncryptedContentInfo', 2, 3);
  const type = readOid(typeNode, 'EncryptedContentInfo.contentType');
  // Any other type would be an encoded structure, and handing it back as the plaintext would be wrong.
  if (type !== ID_DATA) throw badEnvelope(`EncryptedContentInfo.contentType is ${named(type)}, not id-data.`);
  const { oid, parameters } = readAlgorithm(algorithm, 'EncryptedContentInfo.contentEncryptionAlgorithm');
  if (oid !== AES_256_CBC) throw unsupported(`EncryptedContentInfo.contentEncryptionAlgorithm is ${named(oid)}.`);
  const iv = readOctets(parameters, 'EncryptedContentInfo.contentEncryptionAlgorithm.parameters (the IV)');
  if (iv.length !== AES_BLOCK_BYTES) throw badEnvelope(`The AES-CBC IV is ${iv.length} bytes, not ${AES_BLOCK_BYTES}.`);
  if (encrypted === undefined) throw badEnvelope('EncryptedContentInfo carries no encrypted content (it is detached).');
  const encryptedContent = readOctets(encrypted, 'EncryptedContentInfo.encryptedContent', context(0));
  if (encryptedContent.length === 0 || encryptedContent.length % AES_BLOCK_BYTES !== 0) {
    throw badEnvelope(`The encrypted content is ${encryptedContent.length} bytes, not a whole, non-zero number of AES blocks.`);
  }
  return { contentEncryptionAlgorithm: 'AES_256_CBC', iv, encryptedContent };
}
