import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationError, awsNitroRoot, rootFromPem, verifyAttestation } from '../../attestation';
import { DevNsm } from '../../attestation/dev';
import { cloister } from '../cli/run';

const PCR0 = 'a0'.repeat(48);
const PCR1 = 'a1'.repeat(48);
const PCR2 = 'a2'.repeat(48);

let dir: string;
let nsm: DevNsm;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-dev-nsm-'));
  nsm = await DevNsm.open({ dir, pcrs: { 0: PCR0, 1: PCR1, 2: PCR2 } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const devRoot = () => rootFromPem(nsm.pki.rootCertificatePem);

describe('development documents under the one verifier', () => {
  it('verify under the development root, with PCRs, nonce, public key and user data bound', async () => {
    const nonce = Buffer.from('fresh nonce');
    const publicKey = Buffer.from('spki of the TLS key');
    const doc = await nsm.attestation({ nonce, publicKey, userData: Buffer.from([0xa0]) });
    const verified = verifyAttestation(doc, {
      root: devRoot(),
      at: Date.now(),
      policy: { pcrs: { 0: PCR0, 1: PCR1, 2: PCR2 }, nonce, publicKey, maxAgeMs: 60_000, userData: (u) => u?.[0] === 0xa0 },
    });
    expect(verified.moduleId).toBe(nsm.moduleId);
    expect(verified.chain.map((l) => l.subject)[0]).toBe(devRoot().subject);
  });

  it('are refused under the AWS root: BAD_CHAIN', async () => {
    const doc = await nsm.attestation({});
    expect(() => verifyAttestation(doc, { root: awsNitroRoot(), at: Date.now() })).toThrow(expect.objectContaining({ code: 'BAD_CHAIN' }) as AttestationError);
  });

  it('carry PCR16 once it is extended and locked, as the config binding needs', async () => {
    const digest = Buffer.alloc(48, 7);
    const pcr16 = Buffer.from(await nsm.extendPcr(16, digest)).toString('hex');
    await nsm.lockPcr(16);
    const verified = verifyAttestation(await nsm.attestation({}), { root: devRoot(), at: Date.now(), policy: { pcrs: { 0: PCR0, 16: pcr16 } } });
    expect(verified.pcrs.get(16)).toBe(pcr16);
  });

  it('verify as indefinite-length maps too', async () => {
    const indefinite = new DevNsm({ pki: nsm.pki, pcrs: { 0: PCR0 }, indefiniteLengthMap: true });
    const doc = await indefinite.attestation({ nonce: Buffer.from([1, 2]) });
    expect(() => verifyAttestation(doc, { root: devRoot(), at: Date.now() })).not.toThrow();
  });

  it('are refused in debug mode unless allowed: DEBUG_MODE', async () => {
    const debug = new DevNsm({ pki: nsm.pki, pcrs: { 0: PCR0 }, debug: true });
    const doc = await debug.attestation({});
    expect(() => verifyAttestation(doc, { root: devRoot(), at: Date.now() })).toThrow(expect.objectContaining({ code: 'DEBUG_MODE' }));
    expect(() => verifyAttestation(doc, { root: devRoot(), at: Date.now(), policy: { allowDebug: true } })).not.toThrow();
  });

  it('verify with cloister verify --root <dev root PEM>, and are refused with the default AWS root', async () => {
    const file = join(dir, 'doc.cose');
    writeFileSync(file, await nsm.attestation({}));
    const dev = await cloister('verify', file, '--root', nsm.pki.rootCertificatePath, '--pcr', `0=${PCR0}`, '--json');
    expect(dev.status).toBe(0);
    expect(JSON.parse(dev.stdout).valid).toBe(true);
    const aws = await cloister('verify', file, '--json');
    expect(aws.status).toBe(1);
    expect(JSON.parse(aws.stdout).code).toBe('BAD_CHAIN');
  });
});
