import type { TLSSocket } from 'node:tls';
import { AttestationError } from '../attestation';
import { type AttestedServer, attest } from './attest';
import { ClientError } from './errors';
import { httpsOrigin } from './fetch-attestation';
import type { ClientPolicy } from './policy';
import { presentedKey, spkiDigest } from './spki';

/** What the connection checks of `AttestedAgent` and the attested dispatcher share. */
export interface AttestedConnectionOptions {
  /** What the client trusts. */
  policy: ClientPolicy;
  /** Called with every server newly attested (e.g. to log its module id and configuration). */
  onAttested?: (server: AttestedServer) => void;
  /** Time limit for opening a new connection, and for attesting it (default 10 s each). */
  timeoutMs?: number;
}

/** Where a new connection went: the host and port it was opened to. */
export interface ConnectionTarget {
  host: string;
  port: number | string;
}

/**
 * The TLS keys, per origin, that a document verified under the policy vouches for, each for as
 * long as that document is younger than the policy's maximum age. A new connection is accepted
 * only if the key it presented is among them; when it is not, the origin is attested once more
 * (one attestation shared by the connections waiting on it), and the connection is accepted only
 * if its key is the one that document binds.
 */
export class AttestedKeys {
  /** origin → SPKI hex → when the document that vouched for it becomes too old (ms). */
  private readonly keys = new Map<string, Map<string, number>>();
  private readonly attesting = new Map<string, Promise<AttestedServer>>();

  constructor(private readonly options: AttestedConnectionOptions) {}

  /**
   * Resolves if `socket` presented an attested key of `target` and is still open; otherwise
   * rejects with the attestation's refusal, `PUBLIC_KEY_MISMATCH` if the enclave attested another
   * key, or `UNREACHABLE` if the server hung up meanwhile.
   */
  async check(target: ConnectionTarget, socket: TLSSocket): Promise<void> {
    const spki = presentedKey(socket);
    const origin = originOf(target);
    if (!this.vouchedFor(origin.origin, spki)) {
      // Compared with the document just verified, not the cache: with a short maximum age, the
      // key may already have aged out of it, yet this connection waited for this very document.
      const server = await this.attest(origin);
      if (!server.spki.equals(spki)) {
        throw new AttestationError(
          'PUBLIC_KEY_MISMATCH',
          `This connection to ${origin.host} presented the key ${spkiDigest(spki)}, but the enclave there attested ${spkiDigest(server.spki)}: the connection reached someone else, so nothing was sent on it.`,
        );
      }
    }
    // A connection the server dropped meanwhile would leave the request with nowhere to go.
    if (socket.destroyed) throw new ClientError('UNREACHABLE', `${origin.host} closed the connection while its attestation was being checked.`);
  }

  private vouchedFor(origin: string, spki: Buffer): boolean {
    const keys = this.keys.get(origin);
    if (keys === undefined) return false;
    const now = Date.now();
    for (const [key, expires] of keys) if (expires <= now) keys.delete(key);
    return keys.has(spki.toString('hex'));
  }

  private attest(origin: URL): Promise<AttestedServer> {
    let pending = this.attesting.get(origin.origin);
    if (pending === undefined) {
      pending = attest(origin, this.options.policy, { timeoutMs: this.options.timeoutMs })
        .then((server) => this.remember(origin.origin, server))
        .finally(() => this.attesting.delete(origin.origin));
      this.attesting.set(origin.origin, pending);
    }
    return pending;
  }

  private remember(origin: string, server: AttestedServer): AttestedServer {
    // Aged from the document's own time, but never from a future one a skewed clock could give.
    const expires = Math.min(server.document.timestamp, Date.now()) + this.options.policy.maxAgeMs;
    if (!this.keys.has(origin)) this.keys.set(origin, new Map());
    this.keys.get(origin)!.set(server.spki.toString('hex'), expires);
    this.options.onAttested?.(server);
    return server;
  }
}

/** The https origin of a connection target; IPv6 literals need their brackets back in a URL. */
function originOf(target: ConnectionTarget): URL {
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  return httpsOrigin(`https://${host}:${target.port}`);
}
