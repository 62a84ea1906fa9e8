import { createHash, type X509Certificate } from 'node:crypto';
import { AttestationError, type TrustedRoot, awsNitroRoot, rootFromPem, verifyAttestation } from '../../attestation';
import { normalizePcrs } from '../../attestation/policy';
import type { Logger } from '../../contract/log';
import { readEnclaveAttestation } from './enclave-client-certificate';
import { jwkThumbprint } from './jwk-thumbprint';
import { isValidIdentityValue } from '../../contract/identity';

/** A configured user: a client key given as `sha256:<hex of the SPKI DER digest>` or as a public JWK. */
export interface UserEntry {
  name: string;
  role: string;
  key: string | Record<string, unknown>;
}

/** A configured peer enclave: the PCRs its attestation must show, under the AWS root or a PEM one. */
export interface EnclaveEntry {
  name: string;
  role: string;
  pcrs: Record<string, string>;
  /** "aws" (the default) or a PEM certificate, e.g. the development root. */
  root?: string;
}

/** Who a TLS client is, as injected into the identity headers. */
export interface Caller {
  name: string;
  role: string;
}

/**
 * Peer enclaves re-issue their certificate (and so their document) within the hour; an older
 * document could come from an enclave that has since been replaced.
 */
const MAX_DOCUMENT_AGE_MS = 3_600_000;
const SPKI_DIGEST = /^sha256:([0-9a-f]{64})$/;

interface Enclave {
  caller: Caller;
  root: TrustedRoot;
  pcrs: Record<string, string>;
}

/**
 * The callers a deployment admits, looked up by the client certificate presented in the TLS
 * handshake. The handshake already proved the client holds the certificate's private key, so the
 * certificate's public key is the identity: users by key, peer enclaves by an attestation
 * document in the certificate that binds that key to PCRs the configuration lists.
 */
export class CallerDirectory {
  private readonly bySpkiDigest = new Map<string, Caller>();
  private readonly byJwkThumbprint = new Map<string, Caller>();
  private readonly enclaves: Enclave[];

  /** Throws on a malformed entry (key, PCRs or root), so a bad deployment fails at start, not per request. */
  constructor(
    users: readonly UserEntry[],
    enclaves: readonly EnclaveEntry[],
    private readonly log: Logger,
  ) {
    for (const { name, role, key } of users) {
      const caller = checkedCaller('user', name, role);
      if (typeof key === 'string') {
        const digest = SPKI_DIGEST.exec(key)?.[1];
        if (!digest) throw new TypeError(`User ${name}: the key must be "sha256:" and 64 lower-case hex digits, or a public JWK.`);
        if (!this.bySpkiDigest.has(digest)) this.bySpkiDigest.set(digest, caller);
      } else {
        const thumbprint = jwkThumbprint(key);
        if (!this.byJwkThumbprint.has(thumbprint)) this.byJwkThumbprint.set(thumbprint, caller);
      }
    }
    this.enclaves = enclaves.map(({ name, role, pcrs, root }) => {
      // An entry without PCRs would admit any enclave under its root.
      if (normalizePcrs(pcrs).size === 0) throw new TypeError(`Enclave ${name}: list at least one PCR.`);
      return { caller: checkedCaller('enclave', name, role), pcrs, root: root === undefined || root === 'aws' ? awsNitroRoot() : rootFromPem(root) };
    });
  }

  /**
   * The caller holding `certificate`'s key, or undefined (anonymous) when there is no certificate
   * or it matches no entry. A certificate carrying an attestation document that does not verify
   * against any `enclaves` entry is logged with the refusal codes.
   */
  identify(certificate: X509Certificate | undefined): Caller | undefined {
    if (!certificate) return undefined;
    const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
    const digest = createHash('sha256').update(spki).digest('hex');
    const user = this.bySpkiDigest.get(digest) ?? this.byJwk(certificate);
    if (user) return user;
    if (this.enclaves.length > 0) {
      const enclave = this.attestedEnclave(certificate.raw, spki, digest);
      // null: no document in the certificate, so it is just an unknown key; undefined: refused, and logged.
      if (enclave !== null) return enclave;
    }
    this.log({ level: 'warn', event: 'unknown_client_key', key: `sha256:${digest}` });
    return undefined;
  }

  private byJwk(certificate: X509Certificate): Caller | undefined {
    if (this.byJwkThumbprint.size === 0) return undefined;
    let thumbprint: string;
    try {
      thumbprint = jwkThumbprint(certificate.publicKey.export({ format: 'jwk' }) as Record<string, unknown>);
    } catch {
      return undefined; // a key type JWK cannot express (DSA, …) matches no JWK entry
    }
    return this.byJwkThumbprint.get(thumbprint);
  }

  /** The enclave entry the certificate's document matches; undefined if refused, null if it carries none. */
  private attestedEnclave(certificateDer: Buffer, spki: Buffer, digest: string): Caller | undefined | null {
    let document: Uint8Array | undefined;
    try {
      document = readEnclaveAttestation(certificateDer);
    } catch {
      this.log({ level: 'warn', event: 'peer_attestation_refused', key: `sha256:${digest}`, code: 'BAD_EXTENSION' });
      return undefined;
    }
    if (document === undefined) return null;
    const codes = new Set<string>();
    const at = Date.now();
    for (const enclave of this.enclaves) {
      try {
        verifyAttestation(document, { root: enclave.root, at, policy: { pcrs: enclave.pcrs, publicKey: spki, maxAgeMs: MAX_DOCUMENT_AGE_MS } });
        return enclave.caller;
      } catch (e) {
        codes.add(e instanceof AttestationError ? e.code : 'VERIFY_FAILED');
      }
    }
    this.log({ level: 'warn', event: 'peer_attestation_refused', key: `sha256:${digest}`, code: [...codes].join(',') });
    return undefined;
  }
}

function checkedCaller(kind: string, name: string, role: string): Caller {
  for (const [what, value] of [
    ['name', name],
    ['role', role],
  ] as const) {
    if (typeof value !== 'string' || !isValidIdentityValue(value)) {
      throw new TypeError(`A ${kind} ${what} must be 1 to 128 printable ASCII characters without surrounding spaces; got ${JSON.stringify(value)}.`);
    }
  }
  return { name, role };
}
