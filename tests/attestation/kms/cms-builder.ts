/**
 * A small DER/BER writer and a CMS EnvelopedData builder for tests, independent of the code under
 * test (no node-forge): envelopes are encrypted with node:crypto exactly as KMS does, RSA-OAEP
 * with SHA-256 for the key and AES-256-CBC for the content, and each part can be replaced to make
 * the variants the parser must refuse.
 */
import { type KeyObject, constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';

export const OID = {
  envelopedData: '1.2.840.113549.1.7.3',
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  aes128cbc: '2.16.840.1.101.3.4.1.2',
  aes256cbc: '2.16.840.1.101.3.4.1.42',
  aes256gcm: '2.16.840.1.101.3.4.1.46',
};

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element with a definite length: identifier octet, length, contents. */
export function tlv(identifier: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([identifier]), length(contents.length), contents]);
}

/** One constructed element with the indefinite length form, closed by end-of-contents. */
export function indefinite(identifier: number, ...items: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([identifier | 0x20, 0x80]), ...items, Buffer.from([0, 0])]);
}

function oidContents(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [first! * 40 + second!, ...rest]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return Buffer.from(bytes);
}

export const der = {
  seq: (...items: Buffer[]) => tlv(0x30, Buffer.concat(items)),
  set: (...items: Buffer[]) => tlv(0x31, Buffer.concat(items)),
  int: (n: number) => tlv(0x02, n < 0x80 ? Buffer.from([n]) : Buffer.from([0, n])),
  oid: (dotted: string) => tlv(0x06, oidContents(dotted)),
  octets: (bytes: Buffer) => tlv(0x04, bytes),
  null: () => Buffer.from([0x05, 0x00]),
  /** `[n]` constructed (EXPLICIT tagging, or an IMPLICIT SEQUENCE). */
  explicit: (n: number, ...items: Buffer[]) => tlv(0xa0 | n, Buffer.concat(items)),
  /** `[n]` primitive (IMPLICIT OCTET STRING). */
  implicit: (n: number, bytes: Buffer) => tlv(0x80 | n, bytes),
};

/** AlgorithmIdentifier values, as KMS and openssl write them and as the refusal tests vary them. */
export const alg = {
  hash: (oid: string, nullParams = true) => der.seq(der.oid(oid), ...(nullParams ? [der.null()] : [])),
  oaep: (hash = OID.sha256, maskHash = OID.sha256, label?: Buffer) =>
    der.seq(
      der.oid(OID.rsaesOaep),
      der.seq(
        der.explicit(0, alg.hash(hash)),
        der.explicit(1, der.seq(der.oid(OID.mgf1), alg.hash(maskHash))),
        ...(label === undefined ? [] : [der.explicit(2, der.seq(der.oid(OID.pSpecified), der.octets(label)))]),
      ),
    ),
  cbc: (iv: Buffer, oid = OID.aes256cbc) => der.seq(der.oid(oid), der.octets(iv)),
};

export interface RecipientSpec {
  publicKey: KeyObject;
  /** Name the recipient by issuer and serial number (version 0) instead of a key identifier (version 2). */
  byIssuerAndSerial?: boolean;
  /** The key encryption AlgorithmIdentifier; RSAES-OAEP-SHA-256 with MGF1-SHA-256 by default. */
  algorithm?: Buffer;
  /** Encrypted key to write instead of the content key wrapped to `publicKey`. */
  encryptedKey?: Buffer;
  /** Version to write instead of the one that matches the identifier. */
  version?: number;
}

export interface EnvelopeSpec {
  plaintext: Buffer;
  recipients: RecipientSpec[];
  contentKey?: Buffer;
  iv?: Buffer;
  /** The content encryption AlgorithmIdentifier; AES-256-CBC with `iv` by default. */
  contentAlgorithm?: Buffer;
  contentType?: string;
  envelopeType?: string;
  version?: number;
  /** Extra EnvelopedData fields: originatorInfo `[0]` before the recipients, unprotectedAttrs `[1]` at the end. */
  originatorInfo?: Buffer;
  unprotectedAttrs?: Buffer;
  /** Omit the encrypted content (detached). */
  detached?: boolean;
  /** Encrypted content to write instead of the plaintext's encryption. */
  encryptedContent?: Buffer;
  /** Write indefinite lengths and split the encrypted content into pieces of this size, as `openssl cms -stream` does. */
  streamChunk?: number;
}

/** Wraps a content key to an RSA public key with RSAES-OAEP-SHA-256 (MGF1-SHA-256), as KMS does. */
export function wrapKey(publicKey: KeyObject, contentKey: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
}

function recipientInfo(spec: RecipientSpec, contentKey: Buffer, index: number): Buffer {
  const rid = spec.byIssuerAndSerial
    ? der.seq(der.seq(der.set(der.seq(der.oid('2.5.4.3'), tlv(0x0c, Buffer.from('test recipient'))))), der.int(index + 1))
    : der.implicit(0, Buffer.alloc(20, index + 1));
  return der.seq(
    der.int(spec.version ?? (spec.byIssuerAndSerial ? 0 : 2)),
    rid,
    spec.algorithm ?? alg.oaep(),
    der.octets(spec.encryptedKey ?? wrapKey(spec.publicKey, contentKey)),
  );
}

/** Builds a ContentInfo holding an EnvelopedData for the given recipients (DER, or streamed BER). */
export function buildEnvelope(spec: EnvelopeSpec): Buffer {
  const contentKey = spec.contentKey ?? randomBytes(32);
  const iv = spec.iv ?? randomBytes(16);
  const cipher = createCipheriv(`aes-${contentKey.length * 8}-cbc`, contentKey, iv);
  const encrypted = spec.encryptedContent ?? Buffer.concat([cipher.update(spec.plaintext), cipher.final()]);
  const recipients = der.set(...spec.recipients.map((r, i) => recipientInfo(r, contentKey, i)));
  const contentAlgorithm = spec.contentAlgorithm ?? alg.cbc(iv);
  const contentType = der.oid(spec.contentType ?? OID.data);
  const head = [der.int(spec.version ?? 2), ...(spec.originatorInfo ? [spec.originatorInfo] : []), recipients];
  const tail = spec.unprotectedAttrs ? [spec.unprotectedAttrs] : [];
  const envelopeType = der.oid(spec.envelopeType ?? OID.envelopedData);

  if (spec.streamChunk === undefined) {
    const content = spec.detached ? [] : [der.implicit(0, encrypted)];
    const eci = der.seq(contentType, contentAlgorithm, ...content);
    return der.seq(envelopeType, der.explicit(0, der.seq(...head, eci, ...tail)));
  }
  const pieces: Buffer[] = [];
  for (let at = 0; at < encrypted.length; at += spec.streamChunk) pieces.push(der.octets(encrypted.subarray(at, at + spec.streamChunk)));
  const content = spec.detached ? [] : [indefinite(0x80, ...pieces)];
  const eci = indefinite(0x30, contentType, contentAlgorithm, ...content);
  return indefinite(0x30, envelopeType, indefinite(0xa0, indefinite(0x30, ...head, eci, ...tail)));
}
