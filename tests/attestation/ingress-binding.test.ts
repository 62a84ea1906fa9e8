import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AttestationError } from '../../attestation';
import { decodeIngressBinding, encodeIngressBinding, requireConfigDigest } from '../../attestation/ingress-binding';

describe('the ingress binding in user_data', () => {
  it('is the CBOR map {"v": 1, "config": <48 bytes>, "instance": <16 bytes>}', () => {
    const config = Buffer.alloc(48, 1);
    const instance = Buffer.alloc(16, 2);
    const bytes = Buffer.from(encodeIngressBinding({ config, instance }));
    expect(bytes.toString('hex')).toBe(`a361760166636f6e6669675830${config.toString('hex')}68696e7374616e636550${instance.toString('hex')}`);
    expect(decodeIngressBinding(bytes)).toEqual({ config, instance });
  });

  it('lets requireConfigDigest accept the digest it binds and refuse any other', () => {
    const config = randomBytes(48);
    const bytes = encodeIngressBinding({ config, instance: randomBytes(16) });
    expect(requireConfigDigest(config)(bytes)).toBe(true);
    expect(() => requireConfigDigest(randomBytes(48))(bytes)).toThrow(expect.objectContaining({ code: 'USER_DATA_MISMATCH' }));
    expect(() => requireConfigDigest(config)(null)).toThrow(expect.objectContaining({ code: 'USER_DATA_MISMATCH' }));
  });

  it('refuses anything else as USER_DATA_MISMATCH, never another exception (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeIngressBinding(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(AttestationError);
          expect((e as AttestationError).code).toBe('USER_DATA_MISMATCH');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
