import { randomBytes } from 'node:crypto';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { AttestationError } from '../../attestation';
import { decodeIngressBinding, encodeIngressBinding, requireConfigDigest } from '../../attestation/ingress-binding';

describe('the ingress binding in user_data', () => {
  it('is the CBOR map {"v": 1, "config": <48 bytes>, "instance": <16 bytes>, "results": <32 bytes>}', () => {
    const config = Buffer.alloc(48, 1);
    const instance = Buffer.alloc(16, 2);
    const results = Buffer.alloc(32, 3);
    const bytes = Buffer.from(encodeIngressBinding({ config, instance, results }));
    expect(bytes.toString('hex')).toBe(
      `a461760166636f6e6669675830${config.toString('hex')}68696e7374616e636550${instance.toString('hex')}67726573756c74735820${results.toString('hex')}`,
    );
    expect(decodeIngressBinding(bytes)).toEqual({ config, instance, results });
  });

  it('refuses a binding without the results key thumbprint, or with one of another length', () => {
    const config = randomBytes(48);
    const instance = randomBytes(16);
    const encoder = new Encoder({ useRecords: false, variableMapSize: true } as ConstructorParameters<typeof Encoder>[0]);
    for (const map of [
      { v: 1, config, instance },
      { v: 1, config, instance, results: randomBytes(31) },
      { v: 1, config, instance, results: 'thumbprint' },
      { v: 1, config, instance, result: randomBytes(32) },
    ]) {
      expect(() => decodeIngressBinding(encoder.encode(map))).toThrow(expect.objectContaining({ code: 'USER_DATA_MISMATCH' }));
    }
    expect(() => encodeIngressBinding({ config, instance, results: randomBytes(20) })).toThrow(TypeError);
  });

  it('lets requireConfigDigest accept the digest it binds and refuse any other', () => {
    const config = randomBytes(48);
    const bytes = encodeIngressBinding({ config, instance: randomBytes(16), results: randomBytes(32) });
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
