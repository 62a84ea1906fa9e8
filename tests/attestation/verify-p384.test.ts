import { type KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { findAddon, loadAddon } from '../../contract/find-addon';
import { P384_BACKEND, type P384Verifier, nettleVerifyP384, nodeVerifyP384, verifyP384 } from '../../attestation/verify-p384';
import { REAL_DOCUMENTS, readTestdata } from './testdata';

/** The order of the P-384 group. */
const N = BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973');
const toField = (n: bigint) => Buffer.from(n.toString(16).padStart(96, '0'), 'hex');
const fromField = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);

const keys = Array.from({ length: 3 }, () => generateKeyPairSync('ec', { namedCurve: 'P-384' }));
const signWith = (key: KeyObject, data: Uint8Array) => sign('sha384', data, { key, dsaEncoding: 'ieee-p1363' });
/** The same signature with s replaced by n − s: equally valid, the form real NSMs often produce. */
const highS = (signature: Buffer) => Buffer.concat([signature.subarray(0, 48), toField(N - fromField(signature.subarray(48)))]);

const describeNettle = nettleVerifyP384 ? describe : describe.skip;

describe('verifyP384', () => {
  it('is Nettle where nettle-dev is installed (CI requires it)', () => {
    if (process.env.CLOISTER_REQUIRE_NETTLE === '1') expect(P384_BACKEND).toBe('nettle');
    expect(verifyP384).toBe(nettleVerifyP384 ?? nodeVerifyP384);
  });
});

describeNettle('the Nettle verifier gives node:crypto’s answers', () => {
  const nettle = nettleVerifyP384!;

  it('on good signatures, their high-S twins, and signatures with any bit changed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: keys.length - 1 }), fc.uint8Array({ maxLength: 2048 }), fc.nat(95 * 8 + 7), (k, data, bit) => {
        const { privateKey, publicKey } = keys[k]!;
        const good = signWith(privateKey, data);
        const twin = highS(good);
        const flipped = Buffer.from(good);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        for (const signature of [good, twin]) {
          expect(nettle(data, publicKey, signature)).toBe(true);
          expect(nodeVerifyP384(data, publicKey, signature)).toBe(true);
        }
        expect(nettle(data, publicKey, flipped)).toBe(nodeVerifyP384(data, publicKey, flipped));
        expect(nettle(data, publicKey, flipped)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses another message, another key, and r or s out of [1, n-1]', () => {
    const { privateKey, publicKey } = keys[0]!;
    const data = Buffer.from('the signed bytes');
    const good = signWith(privateKey, data);
    expect(nettle(Buffer.from('other bytes'), publicKey, good)).toBe(false);
    expect(nettle(data, keys[1]!.publicKey, good)).toBe(false);
    const r = good.subarray(0, 48);
    const s = good.subarray(48);
    for (const bad of [0n, N, N + 1n, 2n ** 384n - 1n]) {
      expect(nettle(data, publicKey, Buffer.concat([toField(bad), s]))).toBe(false);
      expect(nettle(data, publicKey, Buffer.concat([r, toField(bad)]))).toBe(false);
    }
    // r + n and s + n are the same residues: a verifier that reduced before its range check would accept them.
    if (fromField(r) + N < 2n ** 384n) expect(nettle(data, publicKey, Buffer.concat([toField(fromField(r) + N), s]))).toBe(false);
    if (fromField(s) + N < 2n ** 384n) expect(nettle(data, publicKey, Buffer.concat([r, toField(fromField(s) + N)]))).toBe(false);
    expect(nettle(data, publicKey, good.subarray(0, 95))).toBe(false);
  });
});

/** The refusal code of verifying `bytes` with `backend` checking the signature ('ACCEPTED' if none). */
function outcomeWith(backend: P384Verifier, bytes: Uint8Array, at: number): string {
  let code = 'ACCEPTED';
  jest.isolateModules(() => {
    jest.doMock('../../attestation/verify-p384', () => ({ ...jest.requireActual('../../attestation/verify-p384'), verifyP384: backend }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { awsNitroRoot, verifyAttestation } = require('../../attestation') as typeof import('../../attestation');
    try {
      verifyAttestation(bytes, { root: awsNitroRoot(), at, policy: { allowDebug: true } });
    } catch (e) {
      code = (e as { code: string }).code;
    }
  });
  return code;
}

describeNettle('every real document, through node:crypto and Nettle alike', () => {
  it.each(REAL_DOCUMENTS)('$file verifies, and a changed signature byte is BAD_SIGNATURE', ({ file, timestamp }) => {
    const bytes = readTestdata('nitro', file);
    const changed = Buffer.from(bytes);
    changed[changed.length - 10]! ^= 0x01; // inside the signature, the message's last element
    for (const backend of [nodeVerifyP384, nettleVerifyP384!]) {
      expect(outcomeWith(backend, bytes, timestamp)).toBe('ACCEPTED');
      expect(outcomeWith(backend, changed, timestamp)).toBe('BAD_SIGNATURE');
    }
  });
});

describeNettle('the cloister_p384 addon', () => {
  const addon = loadAddon(findAddon('cloister_p384.node')!) as { verify(...args: unknown[]): boolean };
  const { privateKey, publicKey } = keys[0]!;
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  const data = Buffer.from('bytes');
  const digest = createHash('sha384').update(data).digest();
  const signature = signWith(privateKey, data);
  const r = signature.subarray(0, 48);
  const s = signature.subarray(48);

  it('verifies from raw coordinates, digest and halves', () => {
    expect(addon.verify(x, y, digest, r, s)).toBe(true);
  });

  it('answers false for a point that is not on the curve, whatever the signature', () => {
    const offCurve = Buffer.from(y);
    offCurve[47]! ^= 1;
    expect(addon.verify(x, offCurve, digest, r, s)).toBe(false);
    expect(addon.verify(Buffer.alloc(48), Buffer.alloc(48), digest, r, s)).toBe(false);
    expect(addon.verify(Buffer.alloc(48, 0xff), y, digest, r, s)).toBe(false);
  });

  it('throws a TypeError for arguments of the wrong size, type or number', () => {
    expect(() => addon.verify(x, y, digest.subarray(0, 32), r, s)).toThrow(/digest must be a Buffer of 48 bytes/);
    expect(() => addon.verify(x, y, digest, r, 'not bytes')).toThrow(/s must be a Buffer of 48 bytes/);
    expect(() => addon.verify(x, y, digest, r)).toThrow(/verify takes/);
  });
});
