import { type AttestationPolicy, type VerifiedAttestation, verifyAttestation } from '../attestation';
import { decodeIngressBinding, requireConfigDigest } from '../attestation/ingress-binding';
import { type FetchOptions, type FetchedAttestation, fetchAttestation } from './fetch-attestation';
import type { ClientPolicy } from './policy';

/** A server whose TLS key an attestation document verified under a client policy. */
export interface AttestedServer {
  /** The origin attested, `https://host:port`. */
  url: string;
  document: VerifiedAttestation;
  /** SPKI DER of the server's TLS key: the key the connection presented, and the document's `public_key`. */
  spki: Buffer;
  /** The configuration digest the document binds (hex), or null if its `user_data` is no Cloister binding. */
  configDigest: string | null;
  /** The enclave's boot instance id (hex): a new one means it restarted. Null as for `configDigest`. */
  instanceId: string | null;
}

/**
 * Attests a server: fetches a document with a fresh nonce over a new TLS connection and verifies
 * it now under `policy`: the chain to the policy's root, the PCRs, debug mode, the nonce, the age,
 * `public_key` equal to the key that connection presented, and `user_data` binding the policy's
 * configuration digest when it names one. Refusals are `AttestationError`s; connection problems
 * `ClientError`s. Only the attestation GET is ever sent.
 *
 * @example
 * const server = await attest('https://127.0.0.1:8443', loadPolicy('policy.json'));
 * console.log(server.document.moduleId, server.configDigest);
 */
export async function attest(url: string | URL, policy: ClientPolicy, options?: FetchOptions): Promise<AttestedServer> {
  return checkAttestation(await fetchAttestation(url, options), policy);
}

/**
 * Verifies a fetched document now under `policy`, as `attest` does; for callers that keep the raw
 * document, e.g. to report on a refused one.
 *
 * @example
 * const fetched = await fetchAttestation(url);
 * try {
 *   checkAttestation(fetched, policy);
 * } catch (e) {
 *   report(readAttestation(fetched.bytes), e);
 * }
 */
export function checkAttestation(fetched: FetchedAttestation, policy: ClientPolicy): AttestedServer {
  const document = verifyAttestation(fetched.bytes, { root: policy.root, at: Date.now(), policy: attestationPolicy(policy, fetched) });
  return { url: fetched.url, document, spki: fetched.spki, ...bindingOf(document.userData) };
}

/** The verifier's policy for one fetched document: the client policy plus this request's nonce and key. */
function attestationPolicy(policy: ClientPolicy, fetched: Pick<FetchedAttestation, 'nonce' | 'spki'>): AttestationPolicy {
  return {
    pcrs: policy.pcrs,
    allowDebug: policy.allowDebug,
    nonce: fetched.nonce,
    maxAgeMs: policy.maxAgeMs,
    publicKey: fetched.spki,
    userData: policy.configDigest === undefined ? undefined : requireConfigDigest(policy.configDigest),
  };
}

/**
 * The configuration digest and instance id (hex) a document's `user_data` binds, or nulls when it
 * is no Cloister binding. For reports: a policy that requires a configuration checks it itself.
 *
 * @example
 * bindingOf(readAttestation(bytes).userData); // { configDigest: '9c0f…', instanceId: '5be2…' }
 */
export function bindingOf(userData: Uint8Array | null): Pick<AttestedServer, 'configDigest' | 'instanceId'> {
  try {
    const { config, instance } = decodeIngressBinding(userData);
    return { configDigest: Buffer.from(config).toString('hex'), instanceId: Buffer.from(instance).toString('hex') };
  } catch {
    return { configDigest: null, instanceId: null };
  }
}
