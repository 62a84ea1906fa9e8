import { type KeyObject, generateKeyPair, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { DER_TAG, der, derOid, derTime, derUnsigned } from './der';

const ECDSA_WITH_SHA256 = der(DER_TAG.sequence, derOid('1.2.840.10045.4.3.2'));
const COMMON_NAME = '2.5.4.3';
/** Backdated so a peer whose clock runs a little behind does not see a certificate from the future. */
const BACKDATE_MS = 5 * 60_000;

/** A fresh ECDSA P-256 key pair and the DER SubjectPublicKeyInfo of its public key. */
export interface P256Key {
  privateKey: KeyObject;
  spkiDer: Buffer;
}

/** A fresh P-256 key, generated in this process. */
export async function generateP256Key(): Promise<P256Key> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  return { privateKey, spkiDer: publicKey.export({ type: 'spki', format: 'der' }) };
}

/**
 * An X.509 v3 certificate for `key`, signed by itself (ECDSA with SHA-256), with `extensions`
 * given as the DER of each Extension. Cloister's certificates only carry keys (and, for
 * enclaves, their attestation): peers trust them by their key, never through a CA, so nothing
 * else is needed in them.
 */
export function selfSign(key: P256Key, options: { commonName: string; validityMs: number; extensions?: Buffer[] }): { keyPem: string; certPem: string } {
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and never shortened
  const name = der(DER_TAG.sequence, der(DER_TAG.set, der(DER_TAG.sequence, derOid(COMMON_NAME), der(DER_TAG.utf8String, Buffer.from(options.commonName)))));
  const extensions = options.extensions ?? [];
  const tbs = der(
    DER_TAG.sequence,
    der(DER_TAG.explicit0, derUnsigned(Buffer.from([2]))), // version 3, the first with extensions
    derUnsigned(serial),
    ECDSA_WITH_SHA256,
    name,
    der(DER_TAG.sequence, derTime(new Date(now - BACKDATE_MS)), derTime(new Date(now + options.validityMs))),
    name,
    key.spkiDer,
    ...(extensions.length > 0 ? [der(DER_TAG.explicit3, der(DER_TAG.sequence, ...extensions))] : []),
  );
  const signature = sign('sha256', tbs, { key: key.privateKey, dsaEncoding: 'der' });
  const certificate = der(DER_TAG.sequence, tbs, ECDSA_WITH_SHA256, der(DER_TAG.bitString, Buffer.from([0]), signature));
  return {
    keyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`,
  };
}
