import { calculateJwkThumbprint } from 'jose';
import { encodeIngressBinding } from '../attestation/ingress-binding';
import type { Nsm } from '../attestation/nsm/nsm';
import { type ResultsKeyMaterial, generateResultsKey } from '../contract/signed-result';

/** The instance's results key, and the binding every attestation document of the instance carries. */
export interface ResultsKey {
  /** For the app host: the private key, the instance id and the boot document. Never logged. */
  material: ResultsKeyMaterial;
  /** The RFC 7638 SHA-256 thumbprint of the public key: `results` in `user_data`. */
  thumbprint: Buffer;
}

/**
 * Makes the results key at boot (DESIGN.md, "Results you can show to others") and one attestation
 * document that binds it: the same `public_key` (the ingress's TLS key) and `user_data` as every
 * document the ingress serves, so a signed result carries the evidence a party needs offline.
 */
export async function createResultsKey(nsm: Nsm, binding: { config: Buffer; instance: Buffer; tlsSpki: Buffer }): Promise<ResultsKey> {
  const { privateJwk, publicJwk } = await generateResultsKey();
  const thumbprint = Buffer.from(await calculateJwkThumbprint(publicJwk, 'sha256'), 'base64url');
  const userData = encodeIngressBinding({ config: binding.config, instance: binding.instance, results: thumbprint });
  const document = await nsm.attestation({ publicKey: binding.tlsSpki, userData });
  return {
    material: { privateJwk, instance: binding.instance.toString('hex'), attestation: Buffer.from(document).toString('base64url') },
    thumbprint,
  };
}
