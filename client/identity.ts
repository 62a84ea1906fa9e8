import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { x509 } from '../attestation/x509';
import { ClientError } from './errors';
import { spkiDigest, spkiOf } from './spki';
import { IDENTITY_PATTERN } from '../contract/identity';

/** A client identity as `loadIdentity` reads it: what a TLS client presents, and how configs name it. */
export interface ClientIdentity {
  dir: string;
  /** The certificate's common name, a label only: the enclave's configuration decides the user's name. */
  name: string;
  keyPem: string;
  certPem: string;
  /** `sha256:<hex>` of the public key's SPKI DER: the `key:` of this user in the configuration. */
  keyDigest: string;
}

/** The file names inside an identity directory. */
export const IDENTITY_FILES = { key: 'key.pem', cert: 'cert.pem' } as const;

const P256: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
// The ingress names users by their key, not by the certificate, so a long life costs nothing and
// spares users a renewal; the start is backdated so a slightly slow server clock accepts it.
const LIFETIME_MS = 10 * 365 * 24 * 3_600_000;
const BACKDATE_MS = 3_600_000;
// X.509's upper bound for a common name (ub-common-name), tighter than the identity contract's.
const MAX_NAME_CHARS = 64;

/**
 * Creates a client identity in `dir` (created mode 0700 if absent): an ECDSA P-256 private key
 * `key.pem` (mode 0600) and a self-signed certificate `cert.pem` with CN=`name`. Refuses with
 * `IDENTITY_EXISTS` if either file is there: a key is never overwritten. Returns the `key:` line
 * to add to the enclave's configuration.
 *
 * @example
 * const { keyLine } = await generateIdentity('alice', './alice');
 * // users: [{ name: alice, role: bidder, key: "<keyLine>" }]
 */
export async function generateIdentity(name: string, dir: string): Promise<{ dir: string; keyLine: string }> {
  if (typeof name !== 'string' || name.length > MAX_NAME_CHARS || !IDENTITY_PATTERN.test(name)) {
    throw new ClientError(
      'BAD_IDENTITY',
      `An identity name is 1 to ${MAX_NAME_CHARS} printable ASCII characters without surrounding spaces; got ${JSON.stringify(name)}.`,
    );
  }
  const keyPath = join(dir, IDENTITY_FILES.key);
  const certPath = join(dir, IDENTITY_FILES.cert);
  for (const path of [keyPath, certPath]) {
    if (existsSync(path))
      throw new ClientError(
        'IDENTITY_EXISTS',
        `${path} exists: an identity is never overwritten. Choose another directory, or delete it first if you mean to replace that key.`,
      );
  }

  const keys = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: positiveSerial(),
    name: [{ CN: [name] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + LIFETIME_MS),
    signingAlgorithm: ES256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  const certPem = certificate.toString('pem') + '\n';

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // 'wx' fails if the file appeared since the check above, so a racing writer's key survives.
  writeIdentityFile(keyPath, keyPem, 0o600);
  try {
    writeIdentityFile(certPath, certPem, 0o644);
  } catch (e) {
    rmSync(keyPath, { force: true });
    throw e;
  }
  return { dir, keyLine: spkiDigest(Buffer.from(certificate.publicKey.rawData)) };
}

/**
 * Reads the identity in `dir` and checks that the key and certificate belong together.
 * Problems are `ClientError('BAD_IDENTITY')` naming the file.
 *
 * @example
 * const identity = loadIdentity('./alice');
 * const agent = new AttestedAgent({ policy, identity });
 */
export function loadIdentity(dir: string): ClientIdentity {
  const keyPem = readIdentityFile(dir, IDENTITY_FILES.key);
  const certPem = readIdentityFile(dir, IDENTITY_FILES.cert);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new ClientError('BAD_IDENTITY', `${join(dir, IDENTITY_FILES.key)} is not a PEM private key.`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw new ClientError('BAD_IDENTITY', `${join(dir, IDENTITY_FILES.cert)} is not a PEM certificate.`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new ClientError(
      'BAD_IDENTITY',
      `${join(dir, IDENTITY_FILES.key)} is not the key of ${join(dir, IDENTITY_FILES.cert)}: they come from different identities.`,
    );
  }
  // Node's subject text escapes commas and the like; the parsed name gives the CN as written.
  const name = new x509.X509Certificate(certificate.raw).subjectName.getField('CN')[0] ?? certificate.subject;
  return { dir, name, keyPem, certPem, keyDigest: spkiDigest(spkiOf(certificate)) };
}

function writeIdentityFile(path: string, text: string, mode: number): void {
  try {
    writeFileSync(path, text, { mode, flag: 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ClientError('IDENTITY_EXISTS', `${path} exists: an identity is never overwritten.`);
    throw new ClientError('BAD_IDENTITY', `Cannot write ${path}: ${(e as Error).message}.`, { cause: e });
  }
}

function readIdentityFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ClientError(
      'BAD_IDENTITY',
      missing
        ? `No identity in ${dir}: ${path} does not exist. Create one with: cloister keygen <name> --out ${dir}`
        : `Cannot read ${path}: ${(e as Error).message}.`,
      { cause: e },
    );
  }
}

/** A random 16-byte serial whose first byte keeps the DER INTEGER positive and full length. */
function positiveSerial(): string {
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial.toString('hex');
}
