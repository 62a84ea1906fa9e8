import { type X509Certificate, createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { AttestationError } from '../attestation';

/** The DER SubjectPublicKeyInfo of a certificate's key: what documents bind and configs name. */
export function spkiOf(certificate: X509Certificate): Buffer {
  return certificate.publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * How Cloister names a public key: `sha256:` and the hex SHA-256 of its SPKI DER, the form of
 * `key:` in the configuration's `users`.
 *
 * @example
 * spkiDigest(spkiOf(new X509Certificate(certPem))); // 'sha256:3f1c…'
 */
export function spkiDigest(spki: Uint8Array): string {
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * The SPKI of the key the server presented on this TLS connection. A connection that presented
 * none (e.g. a resumed or anonymous session) proves no key, so it is refused.
 */
export function presentedKey(socket: TLSSocket): Buffer {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) {
    throw new AttestationError(
      'PUBLIC_KEY_MISMATCH',
      'The server presented no certificate on this connection, so no key can be checked against an attestation.',
    );
  }
  return spkiOf(certificate);
}
