import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DevNsm } from '../../../attestation/dev';
import { x509 } from '../../../attestation/x509';
import { chainOf, DAY, decodeDocument, HOUR, manualClock, tempDirs } from './support';
import { TESTDATA } from '../testdata';

const dirs = tempDirs();
afterAll(dirs.cleanup);

const REAL_DOCUMENT = path.join(TESTDATA, 'nitro', 'prod-2026-02-02-indefinite-map.cose');

/** The certificates of a document, root first, leaf last. */
function certificatesOf(document: Uint8Array): Buffer[] {
  const payload = decodeDocument(document).payload;
  return [...(payload.get('cabundle') as Uint8Array[]), payload.get('certificate') as Uint8Array].map((der) => Buffer.from(der));
}

/** The constraints a verifier checks, per certificate: basic constraints and key usage. */
function shapeOf(der: Buffer) {
  const cert = new x509.X509Certificate(der);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  return {
    ca: bc?.ca,
    pathLength: bc?.pathLength,
    basicConstraintsCritical: bc?.critical,
    keyUsage: ku?.usages,
    keyUsageCritical: ku?.critical,
  };
}

describe('development certificate chain', () => {
  const clock = manualClock();
  let nsm: DevNsm;
  let certs: Buffer[];

  beforeAll(async () => {
    nsm = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    certs = certificatesOf(await nsm.attestation({}));
  });

  it('has the five levels of the real chain with the same constraints and key usages', () => {
    const real = certificatesOf(readFileSync(REAL_DOCUMENT));
    expect(certs).toHaveLength(5);
    expect(real).toHaveLength(5);
    expect(certs.map(shapeOf)).toEqual(real.map(shapeOf));
  });

  it('pins path lengths 2, 1, 0 below an unconstrained root and a non-CA leaf', () => {
    const { digitalSignature: DigitalSignature, nonRepudiation: NonRepudiation, keyCertSign: KeyCertSign, cRLSign: CrlSign } = x509.KeyUsageFlags;
    expect(certs.map(shapeOf)).toEqual([
      { ca: true, pathLength: undefined, basicConstraintsCritical: true, keyUsage: DigitalSignature | KeyCertSign | CrlSign, keyUsageCritical: true },
      { ca: true, pathLength: 2, basicConstraintsCritical: true, keyUsage: DigitalSignature | KeyCertSign | CrlSign, keyUsageCritical: true },
      { ca: true, pathLength: 1, basicConstraintsCritical: true, keyUsage: DigitalSignature | KeyCertSign | CrlSign, keyUsageCritical: true },
      { ca: true, pathLength: 0, basicConstraintsCritical: true, keyUsage: KeyCertSign, keyUsageCritical: true },
      { ca: false, pathLength: undefined, basicConstraintsCritical: true, keyUsage: DigitalSignature | NonRepudiation, keyUsageCritical: false },
    ]);
  });

  it('uses ECDSA P-384 keys and ecdsa-with-SHA384 signatures throughout', () => {
    for (const der of certs) {
      const cert = new X509Certificate(der);
      expect(cert.publicKey.asymmetricKeyType).toBe('ec');
      expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
      expect(new x509.X509Certificate(der).signatureAlgorithm).toEqual({ name: 'ECDSA', hash: { name: 'SHA-384' } });
    }
  });

  it('has subjects that say development, and the module id in the leaf', () => {
    const subjects = certs.map((der) => new X509Certificate(der).subject);
    expect(subjects[0]).toBe('C=US\nO=Cloister\nOU=development\nCN=cloister-dev-root');
    for (const subject of subjects) {
      expect(subject).toContain('OU=development');
      expect(subject).toMatch(/cloister-dev/);
      expect(subject.toLowerCase()).not.toContain('aws');
    }
    expect(subjects[3]).toContain(`CN=${nsm.pki.instanceId}.local.cloister-dev`);
    expect(subjects[4]).toContain(`CN=${nsm.moduleId}.local.cloister-dev`);
    expect(nsm.moduleId).toMatch(/^i-[0-9a-f]{17}-enc[0-9a-f]{16}$/);
    expect(nsm.moduleId.startsWith(`${nsm.pki.instanceId}-enc`)).toBe(true);
  });

  it('links every certificate to its issuer by name, key identifiers and signature, up to the root', () => {
    const parsed = certs.map((der) => new X509Certificate(der));
    expect(parsed[0]!.checkIssued(parsed[0]!)).toBe(true);
    expect(parsed[0]!.verify(parsed[0]!.publicKey)).toBe(true);
    for (let i = 1; i < parsed.length; i++) {
      expect(parsed[i]!.checkIssued(parsed[i - 1]!)).toBe(true);
      expect(parsed[i]!.verify(parsed[i - 1]!.publicKey)).toBe(true);
    }
    for (let i = 1; i < 4; i++) {
      const ski = new x509.X509Certificate(certs[i - 1]).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
      expect(new x509.X509Certificate(certs[i]).getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(ski);
    }
    expect(certs[0]!.equals(nsm.pki.rootCertificateDer)).toBe(true);
  });

  it('gives each level the lifetime AWS gives it, starting at the issue time (whole seconds)', () => {
    const at = Math.floor(clock.now() / 1000) * 1000;
    const windows = certs.map((der) => {
      const cert = new x509.X509Certificate(der);
      return { from: cert.notBefore.getTime(), to: cert.notAfter.getTime() };
    });
    const lifetimes = [30 * 365 * DAY, 20 * DAY, 6 * DAY, DAY, 3 * HOUR];
    windows.forEach((window, i) => {
      expect(window.from).toBe(at);
      expect(window.to - window.from).toBe(lifetimes[i]);
    });
  });

  it('numbers the leaf like the NSM: enclave id, four zero bytes, issue time in seconds', () => {
    const serial = new X509Certificate(certs[4]!).serialNumber.toLowerCase();
    const enclaveId = nsm.moduleId.split('-enc')[1];
    const seconds = Math.floor(clock.now() / 1000)
      .toString(16)
      .padStart(8, '0');
    expect(serial).toBe(`${enclaveId}00000000${seconds}`);
  });

  it('gives CAs random positive serials of full length, distinct from each other', () => {
    const serials = certs.slice(0, 4).map((der) => new X509Certificate(der).serialNumber);
    expect(new Set(serials).size).toBe(4);
    expect(serials.map((s) => s.length)).toEqual([32, 32, 32, 40]);
    for (const s of serials) expect(parseInt(s.slice(0, 2), 16)).toBeLessThan(0x80);
  });

  it('shares one root and CA chain between enclaves of one PKI, each with its own leaf', async () => {
    const other = new DevNsm({ pki: nsm.pki });
    const mine = certificatesOf(await nsm.attestation({}));
    const theirs = certificatesOf(await other.attestation({}));
    expect(other.moduleId).not.toBe(nsm.moduleId);
    expect(theirs.slice(0, 4)).toEqual(mine.slice(0, 4));
    expect(theirs[4]!.equals(mine[4]!)).toBe(false);
    const { leaf, cabundle } = chainOf(decodeDocument(await other.attestation({})));
    expect(leaf.verify(cabundle[3]!.publicKey)).toBe(true);
  });
});
