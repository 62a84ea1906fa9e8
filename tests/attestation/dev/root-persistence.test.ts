import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DevNsm, DevPki, DevPkiError } from '../../../attestation/dev';
import { chainOf, DAY, decodeDocument, manualClock, tempDirs } from './support';

const dirs = tempDirs();
afterAll(dirs.cleanup);

const mode = (file: string) => statSync(file).mode & 0o777;

/** Runs `open` and returns the DevPkiError it rejects with (failing if it does not). */
async function refusal(open: Promise<unknown>): Promise<DevPkiError> {
  const error = await open.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DevPkiError);
  return error as DevPkiError;
}

/** A directory holding a freshly created root, and that root's files' bytes. */
async function storedRoot() {
  const dir = path.join(dirs.make(), 'dev');
  const pki = await DevPki.open({ dir });
  const key = path.join(dir, 'root', 'key.pem');
  const cert = path.join(dir, 'root', 'cert.pem');
  return { dir, pki, key, cert, keyBytes: readFileSync(key), certBytes: readFileSync(cert) };
}

describe('development root persistence', () => {
  it('creates the root on first use, with private modes, where the caller says', async () => {
    const { dir, pki, key, cert } = await storedRoot();
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, 'root'))).toBe(0o700);
    expect(mode(key)).toBe(0o600);
    expect(mode(cert)).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['root']);
    expect(pki.rootCertificatePath).toBe(cert);
    expect(readFileSync(cert, 'utf8')).toBe(pki.rootCertificatePem);
    expect(new X509Certificate(readFileSync(cert)).raw.equals(pki.rootCertificateDer)).toBe(true);
    expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('reuses the same root across instances, so a pinned root keeps verifying', async () => {
    const { dir, pki, keyBytes, certBytes } = await storedRoot();
    const again = await DevNsm.open({ dir });
    expect(again.pki.rootCertificateDer.equals(pki.rootCertificateDer)).toBe(true);
    expect(readFileSync(path.join(dir, 'root', 'key.pem')).equals(keyBytes)).toBe(true);
    expect(readFileSync(path.join(dir, 'root', 'cert.pem')).equals(certBytes)).toBe(true);
    // The reloaded key really is the root key: the chain it issues verifies under the pinned root.
    const { cabundle } = chainOf(decodeDocument(await again.attestation({})));
    expect(cabundle[0]!.raw.equals(pki.rootCertificateDer)).toBe(true);
    expect(cabundle[1]!.verify(new X509Certificate(pki.rootCertificateDer).publicKey)).toBe(true);
  });

  it('ends up with one root when several processes create it at once', async () => {
    const dir = dirs.make();
    const pkis = await Promise.all(Array.from({ length: 6 }, () => DevPki.open({ dir })));
    for (const pki of pkis) expect(pki.rootCertificateDer.equals(pkis[0]!.rootCertificateDer)).toBe(true);
    expect(readdirSync(dir)).toEqual(['root']);
  });

  it('refuses a corrupt key file and leaves it as it is', async () => {
    const { dir, key } = await storedRoot();
    writeFileSync(key, 'not a key\n');
    const error = await refusal(DevPki.open({ dir }));
    expect(error.code).toBe('ROOT_CORRUPT');
    expect(error.message).toContain(path.join(dir, 'root'));
    expect(readFileSync(key, 'utf8')).toBe('not a key\n');
  });

  it('refuses a corrupt certificate file and leaves it as it is', async () => {
    const { dir, cert, certBytes } = await storedRoot();
    const truncated = certBytes.subarray(0, 200);
    writeFileSync(cert, truncated);
    expect((await refusal(DevPki.open({ dir }))).code).toBe('ROOT_CORRUPT');
    expect(readFileSync(cert).equals(truncated)).toBe(true);
  });

  it('refuses a key that the certificate does not certify', async () => {
    const { dir, key } = await storedRoot();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(key, other);
    const error = await refusal(DevPki.open({ dir }));
    expect(error.code).toBe('ROOT_CORRUPT');
    expect(error.message).toContain('does not certify');
  });

  it('refuses a key that is not P-384', async () => {
    const { dir, key } = await storedRoot();
    writeFileSync(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const error = await refusal(DevPki.open({ dir }));
    expect(error.code).toBe('ROOT_CORRUPT');
    expect(error.message).toContain('P-384');
  });

  it('refuses an incomplete root rather than completing or replacing it', async () => {
    const { dir, cert } = await storedRoot();
    rmSync(cert);
    const error = await refusal(DevPki.open({ dir }));
    expect(error.code).toBe('ROOT_CORRUPT');
    expect(error.message).toContain('cert.pem is missing');
    expect(readdirSync(path.join(dir, 'root'))).toEqual(['key.pem']);
  });

  it('reports a root file that cannot be read as unreadable', async () => {
    const { dir, key } = await storedRoot();
    rmSync(key);
    mkdirSync(key);
    expect((await refusal(DevPki.open({ dir }))).code).toBe('ROOT_UNREADABLE');
  });

  it('reports a directory where no root can be written as unwritable', async () => {
    const file = path.join(dirs.make(), 'a-file');
    writeFileSync(file, '');
    expect((await refusal(DevPki.open({ dir: path.join(file, 'dev') }))).code).toBe('ROOT_UNWRITABLE');
  });

  it('refuses a root that has expired or is not yet valid at the clock', async () => {
    const dir = dirs.make();
    const clock = manualClock();
    const created = clock.now();
    await DevPki.open({ dir, now: clock.now });
    clock.set(created + 30 * 365 * DAY);
    const expired = await refusal(DevPki.open({ dir, now: clock.now }));
    expect(expired.code).toBe('ROOT_EXPIRED');
    expect(expired.message).toContain('delete the root directory');
    clock.set(created - DAY);
    expect((await refusal(DevPki.open({ dir, now: clock.now }))).code).toBe('ROOT_EXPIRED');
    // Within its window, the same root opens again.
    clock.set(created + DAY);
    await expect(DevPki.open({ dir, now: clock.now })).resolves.toBeInstanceOf(DevPki);
  });
});
