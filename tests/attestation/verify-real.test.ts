import { AttestationError, type AttestationPolicy, awsNitroRoot, verifyAttestation } from '../../attestation';
import { REAL_DOCUMENTS, readTestdata } from './testdata';

const ZERO = '0'.repeat(96);

function refusal(run: () => unknown): AttestationError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(AttestationError);
    return e as AttestationError;
  }
  throw new Error('the document was accepted');
}

describe.each(REAL_DOCUMENTS)('$file', (fixture) => {
  const bytes = readTestdata('nitro', fixture.file);
  const policy = { allowDebug: fixture.debug };

  it('verifies at its own timestamp, under the AWS root', () => {
    const doc = verifyAttestation(bytes, { root: awsNitroRoot(), at: fixture.timestamp, policy });
    expect(doc.timestamp).toBe(fixture.timestamp);
    expect(doc.digest).toBe('SHA384');
    expect(doc.chain).toHaveLength(5);
    expect(doc.chain[0]!.subject).toBe('aws.nitro-enclaves');
    if ('pcr0' in fixture) {
      expect([doc.pcrs.get(0), doc.pcrs.get(1), doc.pcrs.get(2)]).toEqual([fixture.pcr0, fixture.pcr1, fixture.pcr2]);
      expect(doc.publicKey?.length ?? null).toBe(fixture.sizes.publicKey);
      expect(doc.userData?.length ?? null).toBe(fixture.sizes.userData);
      expect(doc.nonce?.length ?? null).toBe(fixture.sizes.nonce);
    } else {
      for (const i of [0, 1, 2, 8]) expect(doc.pcrs.get(i)).toBe(ZERO);
    }
    if ('moduleId' in fixture) expect(doc.moduleId).toBe(fixture.moduleId);
  });

  it('verifies with its PCRs required by the policy', () => {
    const pcrs: AttestationPolicy['pcrs'] = 'pcr0' in fixture ? { 0: fixture.pcr0, 1: [ZERO, fixture.pcr1], 2: fixture.pcr2.toUpperCase() } : { 0: ZERO };
    expect(() => verifyAttestation(bytes, { root: awsNitroRoot(), at: fixture.timestamp, policy: { ...policy, pcrs } })).not.toThrow();
  });

  it('is refused at the current time: EXPIRED', () => {
    expect(refusal(() => verifyAttestation(bytes, { root: awsNitroRoot(), at: Date.now(), policy })).code).toBe('EXPIRED');
  });

  it('is refused one second after its leaf certificate expires', () => {
    const doc = verifyAttestation(bytes, { root: awsNitroRoot(), at: fixture.timestamp, policy });
    const leafEnd = doc.chain[4]!.notAfter.getTime();
    expect(refusal(() => verifyAttestation(bytes, { root: awsNitroRoot(), at: leafEnd + 1000, policy })).code).toBe('EXPIRED');
  });

  it('is refused with another PCR0: PCR_MISMATCH', () => {
    const e = refusal(() => verifyAttestation(bytes, { root: awsNitroRoot(), at: fixture.timestamp, policy: { ...policy, pcrs: { 0: 'ab'.repeat(48) } } }));
    expect(e.code).toBe('PCR_MISMATCH');
  });
});

describe('debug documents', () => {
  it.each(REAL_DOCUMENTS.filter((d) => d.debug))('refuses $file unless debug is allowed: DEBUG_MODE', (fixture) => {
    const bytes = readTestdata('nitro', fixture.file);
    expect(refusal(() => verifyAttestation(bytes, { root: awsNitroRoot(), at: fixture.timestamp })).code).toBe('DEBUG_MODE');
  });
});
