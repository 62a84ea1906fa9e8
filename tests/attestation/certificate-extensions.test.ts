import { readAttestation } from '../../attestation';
import { readChainExtensions } from '../../attestation/certificate-extensions';
import { x509 } from '../../attestation/x509';
import { readTestdata } from './testdata';

const doc = readAttestation(readTestdata('nitro', 'prod-2022-10-13.cose'));

describe('readChainExtensions', () => {
  it('reads the real AWS chain as openssl shows it', () => {
    const [root, regional, zonal, instance] = doc.cabundle.map(readChainExtensions);
    expect(root).toEqual({ ca: true, keyUsage: { digitalSignature: true, keyCertSign: true } });
    expect(regional).toEqual({ ca: true, pathLength: 2, keyUsage: { digitalSignature: true, keyCertSign: true } });
    expect(zonal).toEqual({ ca: true, pathLength: 1, keyUsage: { digitalSignature: true, keyCertSign: true } });
    expect(instance).toEqual({ ca: true, pathLength: 0, keyUsage: { digitalSignature: false, keyCertSign: true } });
    expect(readChainExtensions(doc.certificate)).toEqual({ ca: false, keyUsage: { digitalSignature: true, keyCertSign: false } });
  });

  it('agrees with @peculiar/x509 on every certificate of every real document', () => {
    for (const file of ['prod-2022-09-15-high-s.cose', 'prod-2026-02-02-indefinite-map.cose', 'debug-2023-09-18-high-s.cose']) {
      const { cabundle, certificate } = readAttestation(readTestdata('nitro', file));
      for (const der of [...cabundle, certificate]) {
        const cert = new x509.X509Certificate(der);
        const constraints = cert.getExtension(x509.BasicConstraintsExtension);
        const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages;
        expect(readChainExtensions(der)).toEqual({
          ca: constraints?.ca ?? false,
          ...(constraints?.pathLength !== undefined ? { pathLength: constraints.pathLength } : {}),
          ...(usages !== undefined
            ? {
                keyUsage: {
                  digitalSignature: (usages & x509.KeyUsageFlags.digitalSignature) !== 0,
                  keyCertSign: (usages & x509.KeyUsageFlags.keyCertSign) !== 0,
                },
              }
            : {}),
        });
      }
    }
  });

  it('throws on DER that is not a certificate', () => {
    expect(() => readChainExtensions(Buffer.from('3003020101', 'hex'))).toThrow();
    expect(() => readChainExtensions(Buffer.from('not der'))).toThrow();
  });
});
