import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fromStored, importKeys, type Issued } from './certificates';
import { DevPkiError } from './errors';

/** The subdirectory of the caller's directory that holds the root: created whole or not at all. */
const ROOT_SUBDIR = 'root';
const KEY_FILE = 'key.pem';
const CERT_FILE = 'cert.pem';

/** Where the persistent development root lives under a caller's directory. */
export function rootPaths(dir: string): { dir: string; key: string; certificate: string } {
  const rootDir = path.join(dir, ROOT_SUBDIR);
  return { dir: rootDir, key: path.join(rootDir, KEY_FILE), certificate: path.join(rootDir, CERT_FILE) };
}

/**
 * The development root stored under `dir` (`root/key.pem`, PKCS#8, mode 0600; `root/cert.pem`;
 * `root/` mode 0700), created with `create` when `dir` holds none. An existing root is always
 * reused and checked: unreadable, incomplete or inconsistent files are a `DevPkiError`, never
 * replaced, because developers pin this root.
 */
export async function loadOrCreateRoot(dir: string, create: () => Promise<Issued>): Promise<Issued> {
  const paths = rootPaths(dir);
  if (!(await exists(paths.dir))) await createRoot(dir, paths.dir, create);
  return loadRoot(paths);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (e) {
    // ENOTDIR: a file stands where a directory of the path should be, so no root can be there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new DevPkiError('ROOT_UNREADABLE', `Cannot access the development root at ${file}: ${(e as Error).message}.`, { cause: e });
  }
}

/**
 * Both files are written into a private temporary directory that is then renamed into place, so
 * a crash never leaves half a root behind, and of two processes starting at once one wins and
 * the other adopts its root.
 */
async function createRoot(dir: string, rootDir: string, create: () => Promise<Issued>): Promise<void> {
  let staging: string | undefined;
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    staging = await fs.mkdtemp(path.join(dir, '.root-'));
    const root = await create();
    const keyPem = KeyObject.from(root.keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
    await writeDurably(path.join(staging, KEY_FILE), keyPem, 0o600);
    await writeDurably(path.join(staging, CERT_FILE), root.certificate.toString('pem') + '\n', 0o644);
    await fs.chmod(staging, 0o700);
    await fs.rename(staging, rootDir);
    staging = undefined;
  } catch (e) {
    if (e instanceof DevPkiError) throw e;
    if (!(await exists(rootDir))) {
      throw new DevPkiError('ROOT_UNWRITABLE', `Cannot create the development root in ${dir}: ${(e as Error).message}.`, { cause: e });
    }
    // Another process created the root first; its root is the one to use.
  } finally {
    if (staging) await fs.rm(staging, { recursive: true, force: true });
  }
}

async function writeDurably(file: string, contents: string, mode: number): Promise<void> {
  const handle = await fs.open(file, 'wx', mode);
  try {
    await handle.writeFile(contents);
    // The umask may have cleared bits of `mode`; the mode must be exactly what is documented.
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function loadRoot(paths: ReturnType<typeof rootPaths>): Promise<Issued> {
  const [keyPem, certPem] = await Promise.all([readRootFile(paths.key), readRootFile(paths.certificate)]);
  const corrupt = (why: string, cause?: unknown) =>
    new DevPkiError(
      'ROOT_CORRUPT',
      `The development root in ${paths.dir} is unusable: ${why}. Restore it, or delete that directory to create a new root (clients pinning the old one must then pin the new one).`,
      { cause },
    );
  let privateKey: KeyObject;
  let certificate: X509Certificate;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (e) {
    throw corrupt(`${KEY_FILE} is not a PEM private key`, e);
  }
  try {
    certificate = new X509Certificate(certPem);
  } catch (e) {
    throw corrupt(`${CERT_FILE} is not a PEM certificate`, e);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw corrupt(`${KEY_FILE} is not an ECDSA P-384 key`);
  }
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  if (!spki(certificate.publicKey).equals(spki(createPublicKey(privateKey)))) {
    throw corrupt(`${CERT_FILE} does not certify the key in ${KEY_FILE}`);
  }
  if (!certificate.ca || !certificate.checkIssued(certificate) || !certificate.verify(certificate.publicKey)) {
    throw corrupt(`${CERT_FILE} is not a self-signed CA certificate`);
  }
  return fromStored(Buffer.from(certificate.raw), await importKeys(privateKey));
}

async function readRootFile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DevPkiError(
        'ROOT_CORRUPT',
        `The development root is incomplete: ${file} is missing. Restore it, or delete ${path.dirname(file)} to create a new root.`,
        { cause: e },
      );
    }
    throw new DevPkiError('ROOT_UNREADABLE', `Cannot read ${file}: ${(e as Error).message}.`, { cause: e });
  }
}
