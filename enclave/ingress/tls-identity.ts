import { generateP256Key, selfSign } from './self-signed';

/**
 * The ingress certificate never expires in practice: clients pin its key through the attestation
 * document, not its validity, and an enclave restart replaces key and certificate anyway.
 */
const VALIDITY_MS = 10 * 365 * 24 * 3_600_000;

/** The ingress's TLS key and certificate, and the key's SPKI DER that attestation documents bind. */
export interface TlsIdentity {
  keyPem: string;
  certPem: string;
  /** DER SubjectPublicKeyInfo of the key: the `public_key` of the ingress's attestation documents. */
  spkiDer: Buffer;
}

/**
 * A fresh ECDSA P-256 key and a self-signed certificate for it. Call it inside the enclave at
 * boot: the private key is born there and never leaves, and clients trust it because an
 * attestation document binds its SPKI, not because a CA signed it.
 */
export async function generateTlsIdentity(commonName = 'cloister-enclave'): Promise<TlsIdentity> {
  const key = await generateP256Key();
  const { keyPem, certPem } = selfSign(key, { commonName, validityMs: VALIDITY_MS });
  return { keyPem, certPem, spkiDer: key.spkiDer };
}
