import { createPublicKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { x509 } from '../x509';

/** ECDSA P-384 keys, the only kind AWS's Nitro PKI uses and the only kind verifiers accept. */
const P384: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-384' };
const ES384: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-384' };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A key pair of the development PKI (WebCrypto, which is what the certificate builder signs with). */
export type KeyPair = webcrypto.CryptoKeyPair;

/** Where a certificate sits in the chain, root first: the same five levels as AWS's Nitro PKI. */
export type Level = 'root' | 'regional' | 'zonal' | 'instance' | 'leaf';

interface Shape {
  /** How long a certificate of this level lives, in milliseconds. */
  lifetimeMs: number;
  /** Absent: not a CA. A number: the pathLen constraint. `null`: a CA without one (the root). */
  pathLength?: number | null;
  keyUsage: number;
  keyUsageCritical: boolean;
  /** Whether the certificate carries subject and authority key identifiers. */
  keyIds: 'none' | 'subject' | 'both';
  /** The subject, from the level's identifier (random hex, instance id or module id). */
  subject: (id: string) => string;
}

const { digitalSignature, nonRepudiation, keyCertSign, cRLSign } = x509.KeyUsageFlags;

// Copied from the chain of a real 2026 document: path lengths 2/1/0 below the root, the instance
// CA allowed only to sign, a 3-hour leaf for signatures. Lifetimes are AWS's too, so the renewal
// logic is exercised the way a real enclave's certificates turn over. Subjects keep AWS's
// attribute orders (the zonal one is reversed) but say "development" and never "aws".
const SHAPES: Record<Level, Shape> = {
  root: {
    lifetimeMs: 30 * 365 * DAY,
    pathLength: null,
    keyUsage: digitalSignature | keyCertSign | cRLSign,
    keyUsageCritical: true,
    keyIds: 'subject',
    subject: () => 'C=US, O=Cloister, OU=development, CN=cloister-dev-root',
  },
  regional: {
    lifetimeMs: 20 * DAY,
    pathLength: 2,
    keyUsage: digitalSignature | keyCertSign | cRLSign,
    keyUsageCritical: true,
    keyIds: 'both',
    subject: (id) => `C=US, O=Cloister, OU=development, CN=${id}.local.cloister-dev`,
  },
  zonal: {
    lifetimeMs: 6 * DAY,
    pathLength: 1,
    keyUsage: digitalSignature | keyCertSign | cRLSign,
    keyUsageCritical: true,
    keyIds: 'both',
    subject: (id) => `CN=${id}.zonal.local.cloister-dev, OU=development, O=Cloister, C=US`,
  },
  instance: {
    lifetimeMs: DAY,
    pathLength: 0,
    keyUsage: keyCertSign,
    keyUsageCritical: true,
    keyIds: 'both',
    subject: (id) => `C=US, O=Cloister, OU=development, CN=${id}.local.cloister-dev`,
  },
  leaf: {
    lifetimeMs: 3 * HOUR,
    keyUsage: digitalSignature | nonRepudiation,
    keyUsageCritical: false,
    keyIds: 'none',
    subject: (id) => `C=US, O=Cloister, OU=development, CN=${id}.local.cloister-dev`,
  },
};

/** How long a certificate of `level` lives, in milliseconds. */
export function lifetimeOf(level: Level): number {
  return SHAPES[level].lifetimeMs;
}

/** A certificate of the development chain with its key pair and validity window. */
export interface Issued {
  readonly level: Level;
  readonly certificate: x509.X509Certificate;
  readonly der: Buffer;
  readonly keys: KeyPair;
  /** Validity bounds in ms since 1970, exactly as encoded (whole seconds). */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Whether `cert` is valid at `at` and stays valid for `span` ms more. */
export function covers(cert: Issued, at: number, span: number): boolean {
  return cert.notBefore <= at && at + span <= cert.notAfter;
}

/** A fresh P-384 key pair; only the root's needs to be extractable, to be written to disk. */
export async function generateKeys(extractable: boolean): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(P384, extractable, ['sign', 'verify']);
}

/** The WebCrypto pair of a stored P-384 private key, for signing certificates with it. */
export async function importKeys(privateKey: KeyObject): Promise<KeyPair> {
  const [priv, pub] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), P384, false, ['sign']),
    webcrypto.subtle.importKey('spki', createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), P384, true, ['verify']),
  ]);
  return { privateKey: priv, publicKey: pub };
}

/**
 * A random serial number of `bytes` bytes, as hex. The first byte is kept in 0x01–0x7f so the DER
 * INTEGER is positive and keeps its full length.
 */
export function randomSerial(bytes: number): string {
  const serial = randomBytes(bytes);
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial.toString('hex');
}

/**
 * Issues a certificate of `level` for `keys`, valid from `at` (truncated to the second, as X.509
 * times are) for the level's lifetime, signed by `issuer` or, without one, self-signed (the root).
 */
export async function issue(request: { level: Level; id: string; serial: string; at: number; keys: KeyPair; issuer?: Issued }): Promise<Issued> {
  const { level, keys, issuer } = request;
  const shape = SHAPES[level];
  const notBefore = Math.floor(request.at / 1000) * 1000;
  const notAfter = notBefore + shape.lifetimeMs;
  const subject = new x509.Name(shape.subject(request.id));
  const extensions: x509.Extension[] = [
    shape.pathLength === undefined
      ? new x509.BasicConstraintsExtension(false, undefined, true)
      : new x509.BasicConstraintsExtension(true, shape.pathLength ?? undefined, true),
    new x509.KeyUsagesExtension(shape.keyUsage, shape.keyUsageCritical),
  ];
  if (shape.keyIds !== 'none') extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (shape.keyIds === 'both' && issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  }
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: request.serial,
    subject,
    // The issuer's own encoded name, not a re-parsed string, so chain building matches byte for byte.
    issuer: issuer ? issuer.certificate.subjectName : subject,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    signingAlgorithm: ES384,
    publicKey: keys.publicKey,
    signingKey: issuer ? issuer.keys.privateKey : keys.privateKey,
    extensions,
  });
  return { level, certificate, der: Buffer.from(certificate.rawData), keys, notBefore, notAfter };
}

/**
 * Rebuilds the `Issued` view of a stored root from its certificate and key pair (the root is the
 * only certificate read back from disk).
 */
export function fromStored(der: Buffer, keys: KeyPair): Issued {
  const certificate = new x509.X509Certificate(der);
  return {
    level: 'root',
    certificate,
    der,
    keys,
    notBefore: certificate.notBefore.getTime(),
    notAfter: certificate.notAfter.getTime(),
  };
}
