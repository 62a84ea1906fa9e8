import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError, awsNitroRoot, readAttestation, rootFromPem, verifyAttestation } from '../../attestation';
import { x509 } from '../../attestation/x509';
import { encodeSign1, flipByte, payloadOf, sign1Parts, withPayload } from './mutate';
import { readTestdata } from './testdata';

const DOC = readTestdata('nitro', 'prod-2022-10-13.cose');
const AT = 1665651482136;
const verify = (bytes: Uint8Array, options: Partial<Parameters<typeof verifyAttestation>[1]> = {}) =>
  verifyAttestation(bytes, { root: awsNitroRoot(), at: AT, ...options });

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(AttestationError);
    expect((e as Error).message).toMatch(/\S{3,}.*\./);
    return (e as AttestationError).code;
  }
  throw new Error('the document was accepted');
}

it('accepts the untouched document (the baseline for every refusal below)', () => {
  expect(() => verify(DOC)).not.toThrow();
});

describe('signature and payload bytes', () => {
  it('refuses a flipped signature byte: BAD_SIGNATURE', () => {
    expect(codeOf(() => verify(flipByte(DOC, DOC.length - 1)))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verify(flipByte(DOC, DOC.length - 50)))).toBe('BAD_SIGNATURE');
  });

  it('refuses a flipped byte inside the nonce: BAD_SIGNATURE', () => {
    const nonce = payloadOf(DOC).get('nonce') as Uint8Array;
    const at = DOC.indexOf(Buffer.from(nonce));
    expect(at).toBeGreaterThan(0);
    expect(codeOf(() => verify(flipByte(DOC, at + 10)))).toBe('BAD_SIGNATURE');
  });

  it('refuses a truncated signature: BAD_SIGNATURE', () => {
    const parts = sign1Parts(DOC);
    parts[3] = parts[3].subarray(0, 95);
    expect(codeOf(() => verify(encodeSign1(parts)))).toBe('BAD_SIGNATURE');
  });

  it('refuses a re-encoded payload, even with the same content: BAD_SIGNATURE', () => {
    expect(codeOf(() => verify(withPayload(DOC, () => {})))).toBe('BAD_SIGNATURE');
  });

  it('refuses changed PCRs: BAD_SIGNATURE', () => {
    const forged = withPayload(DOC, (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(0, Buffer.alloc(48, 7)));
    expect(codeOf(() => verify(forged))).toBe('BAD_SIGNATURE');
  });
});

describe('COSE structure', () => {
  it('accepts the document tagged 18', () => {
    expect(() => verify(encodeSign1(sign1Parts(DOC), 18))).not.toThrow();
  });

  it.each([16, 17, 61, 55799])('refuses tag %i: BAD_TAG', (tag) => {
    expect(codeOf(() => verify(encodeSign1(sign1Parts(DOC), tag)))).toBe('BAD_TAG');
  });

  it('refuses trailing bytes: BAD_CBOR', () => {
    expect(codeOf(() => verify(Buffer.concat([DOC, Buffer.from([0x00])])))).toBe('BAD_CBOR');
  });

  it('refuses a truncated document: BAD_CBOR', () => {
    expect(codeOf(() => verify(DOC.subarray(0, DOC.length - 1)))).toBe('BAD_CBOR');
    expect(codeOf(() => verify(new Uint8Array()))).toBe('BAD_CBOR');
  });

  it.each([
    ['three elements', (p: unknown[]) => p.slice(0, 3)],
    ['five elements', (p: unknown[]) => [...p, Buffer.alloc(1)]],
    ['a text payload', (p: unknown[]) => [p[0], p[1], 'payload', p[3]]],
    ['a detached (null) payload', (p: unknown[]) => [p[0], p[1], null, p[3]]],
    ['an unprotected header that is not a map', (p: unknown[]) => [p[0], [], p[2], p[3]]],
  ])('refuses a COSE_Sign1 with %s: BAD_CBOR', (_what, change) => {
    expect(codeOf(() => verify(encodeSign1(change(sign1Parts(DOC)))))).toBe('BAD_CBOR');
  });

  it.each([
    ['ES256', 'a10126'],
    ['ES512', 'a1013823'],
    ['an empty protected header', ''],
    ['an empty map', 'a0'],
    ['ES384 plus a content type', 'a201382203182a'],
    ['ES384 written as a text label', 'a163616c673822'],
  ])('refuses %s in the protected header: BAD_ALG', (_what, hex) => {
    const parts = sign1Parts(DOC);
    parts[0] = Buffer.from(hex, 'hex');
    expect(codeOf(() => verify(encodeSign1(parts)))).toBe('BAD_ALG');
  });
});

describe('payload fields', () => {
  const cases: [string, (p: Map<string, unknown>) => void][] = [
    ['a missing module_id', (p) => p.delete('module_id')],
    ['a missing nonce key (instead of null)', (p) => p.delete('nonce')],
    ['an extra key', (p) => p.set('debug', true)],
    ['an empty module_id', (p) => p.set('module_id', '')],
    ['a numeric module_id', (p) => p.set('module_id', 7)],
    ['digest SHA256', (p) => p.set('digest', 'SHA256')],
    ['a text timestamp', (p) => p.set('timestamp', '1665651482136')],
    ['a zero timestamp', (p) => p.set('timestamp', 0)],
    ['a fractional timestamp', (p) => p.set('timestamp', 1.5)],
    ['a 32-byte PCR', (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(3, Buffer.alloc(32))],
    ['a 64-byte PCR', (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(3, Buffer.alloc(64))],
    ['PCR index 32', (p) => (p.get('pcrs') as Map<number, Uint8Array>).set(32, Buffer.alloc(48))],
    ['a text PCR index', (p) => (p.get('pcrs') as Map<unknown, Uint8Array>).set('0', Buffer.alloc(48))],
    ['PCRs as an array', (p) => p.set('pcrs', [Buffer.alloc(48)])],
    ['no PCRs', (p) => p.set('pcrs', new Map())],
    ['a text certificate', (p) => p.set('certificate', 'MIIC...')],
    ['an oversized certificate', (p) => p.set('certificate', Buffer.alloc(1025))],
    ['an empty cabundle', (p) => p.set('cabundle', [])],
    ['a cabundle entry that is not bytes', (p) => p.set('cabundle', [1, 2])],
    ['an oversized user_data', (p) => p.set('user_data', Buffer.alloc(1025))],
    ['an oversized nonce', (p) => p.set('nonce', Buffer.alloc(1025))],
    ['an oversized public_key', (p) => p.set('public_key', Buffer.alloc(1025))],
    ['a text nonce', (p) => p.set('nonce', 'abc')],
    ['a boolean public_key', (p) => p.set('public_key', false)],
  ];
  it.each(cases)('refuses %s: BAD_PAYLOAD', (_what, change) => {
    expect(codeOf(() => verify(withPayload(DOC, change)))).toBe('BAD_PAYLOAD');
  });

  it('refuses a payload that is not a map: BAD_PAYLOAD', () => {
    const parts = sign1Parts(DOC);
    parts[2] = Buffer.from('83010203', 'hex');
    expect(codeOf(() => verify(encodeSign1(parts)))).toBe('BAD_PAYLOAD');
  });

  it('reads but never trusts: readAttestation returns fields without verifying', () => {
    expect(readAttestation(flipByte(DOC, DOC.length - 1)).moduleId).toBe('i-020b6af9246d90e92-enc0183d09086c24190');
  });
});

describe('certificate chain', () => {
  const bundle = () => payloadOf(DOC).get('cabundle') as Uint8Array[];

  it.each([
    ['reordered', (b: Uint8Array[]) => [b[0]!, b[2]!, b[1]!, b[3]!]],
    ['missing the zonal CA', (b: Uint8Array[]) => [b[0]!, b[1]!, b[3]!]],
    ['missing the instance CA', (b: Uint8Array[]) => b.slice(0, 3)],
    ['only the root', (b: Uint8Array[]) => b.slice(0, 1)],
    ['with the leaf twice', (b: Uint8Array[]) => [...b, payloadOf(DOC).get('certificate') as Uint8Array]],
    ['with a garbage certificate', (b: Uint8Array[]) => [b[0]!, Buffer.from('3003020101', 'hex'), b[2]!, b[3]!]],
  ])('refuses a cabundle %s: BAD_CHAIN', (_what, change) => {
    const forged = withPayload(DOC, (p) => p.set('cabundle', change(bundle())));
    expect(codeOf(() => verify(forged))).toBe('BAD_CHAIN');
  });

  it('refuses the document under a foreign root: BAD_CHAIN', async () => {
    const keys = await x509.cryptoProvider.get().subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
    const foreign = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=aws.nitro-enclaves, OU=AWS, O=Amazon, C=US',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
      notBefore: new Date('2019-01-01'),
      notAfter: new Date('2049-01-01'),
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    expect(codeOf(() => verify(DOC, { root: rootFromPem(foreign.toString('pem')) }))).toBe('BAD_CHAIN');
  });

  it("never trusts the document's own copy of the root: a bundle whose first certificate is foreign still chains to the pinned root", () => {
    const forged = withPayload(DOC, (p) => p.set('cabundle', [Buffer.from('not a root'), ...bundle().slice(1)]));
    expect(codeOf(() => verify(forged))).toBe('BAD_SIGNATURE');
  });
});

describe('the pinned AWS root', () => {
  const pem = readFileSync(join(__dirname, '..', '..', 'attestation', 'roots', 'aws-nitro-root-g1.pem'), 'utf8');

  it('is the shipped file, whose DER SHA-256 is the published one', () => {
    const root = awsNitroRoot();
    expect(root.sha256).toBe('641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b');
    expect(createHash('sha256').update(root.der).digest('hex')).toBe(root.sha256);
    expect(root.subject).toBe('aws.nitro-enclaves');
  });

  it('is refused when its bytes differ from the pin: ROOT_NOT_PINNED', () => {
    expect(() => rootFromPem(pem, '00'.repeat(32))).toThrow(expect.objectContaining({ code: 'ROOT_NOT_PINNED' }));
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => rootFromPem(other.publicKey.export({ type: 'spki', format: 'pem' }) as string)).toThrow(expect.objectContaining({ code: 'ROOT_NOT_PINNED' }));
  });
});

describe('policy', () => {
  const payload = payloadOf(DOC);
  const nonce = payload.get('nonce') as Uint8Array;

  it('accepts the nonce that was sent and refuses any other: NONCE_MISMATCH', () => {
    expect(() => verify(DOC, { policy: { nonce } })).not.toThrow();
    expect(codeOf(() => verify(DOC, { policy: { nonce: Buffer.from(nonce).subarray(1) } }))).toBe('NONCE_MISMATCH');
    expect(codeOf(() => verify(DOC, { policy: { nonce: Buffer.alloc(256) } }))).toBe('NONCE_MISMATCH');
  });

  it('refuses a document older than maxAgeMs (beyond the skew): STALE', () => {
    expect(() => verify(DOC, { at: AT + 5_000, policy: { maxAgeMs: 10_000, clockSkewMs: 0 } })).not.toThrow();
    expect(codeOf(() => verify(DOC, { at: AT + 20_000, policy: { maxAgeMs: 10_000, clockSkewMs: 0 } }))).toBe('STALE');
    expect(() => verify(DOC, { at: AT + 20_000, policy: { maxAgeMs: 10_000, clockSkewMs: 15_000 } })).not.toThrow();
  });

  it('refuses a document from the future beyond the skew: STALE', () => {
    expect(codeOf(() => verify(DOC, { at: AT - 2_000, policy: { maxAgeMs: 10_000, clockSkewMs: 1_000 } }))).toBe('STALE');
    expect(() => verify(DOC, { at: AT - 2_000, policy: { maxAgeMs: 10_000, clockSkewMs: 3_000 } })).not.toThrow();
  });

  it('refuses a document whose public_key is not the expected key: PUBLIC_KEY_MISMATCH', () => {
    expect(codeOf(() => verify(DOC, { policy: { publicKey: Buffer.from('the TLS key') } }))).toBe('PUBLIC_KEY_MISMATCH');
  });

  it('runs the user_data hook and refuses on false or throw: USER_DATA_MISMATCH', () => {
    const seen: (Uint8Array | null)[] = [];
    expect(() => verify(DOC, { policy: { userData: (u) => void seen.push(u) } })).not.toThrow();
    expect(seen).toEqual([null]);
    expect(codeOf(() => verify(DOC, { policy: { userData: () => false } }))).toBe('USER_DATA_MISMATCH');
    expect(
      codeOf(() =>
        verify(DOC, {
          policy: {
            userData: () => {
              throw new Error('no config digest');
            },
          },
        }),
      ),
    ).toBe('USER_DATA_MISMATCH');
  });

  it.each([
    ['a PCR index 40', { pcrs: { 40: 'ab'.repeat(48) } }],
    ['a short PCR value', { pcrs: { 0: 'abcd' } }],
    ['no accepted values', { pcrs: { 0: [] } }],
    ['a negative age', { maxAgeMs: -1 }],
  ])('refuses a policy with %s: BAD_POLICY', (_what, policy) => {
    expect(codeOf(() => verify(DOC, { policy }))).toBe('BAD_POLICY');
  });

  it('refuses an invalid instant: BAD_POLICY', () => {
    expect(codeOf(() => verify(DOC, { at: Number.NaN }))).toBe('BAD_POLICY');
  });
});
