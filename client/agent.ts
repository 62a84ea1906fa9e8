import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type AttestedConnectionOptions, AttestedKeys } from './attested-keys';
import { ClientError } from './errors';
import type { ClientIdentity } from './identity';

/** An `AttestedAgent`'s settings: the usual `https.Agent` ones (keep-alive, pool sizes) and the policy. */
export interface AttestedAgentOptions extends AgentOptions, AttestedConnectionOptions {
  /** The client certificate to present (from `loadIdentity`); without one, calls are anonymous. */
  identity?: Pick<ClientIdentity, 'keyPem' | 'certPem'>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * An `https.Agent` that talks only to attested enclaves. Every new TLS connection is held back
 * until the key the server presented is one a document verified under the policy vouches for
 * (attesting the server first, with a fresh nonce, when none does); otherwise the socket is
 * destroyed and the request fails with the refusal, so no byte of any request is ever written
 * to an unverified server. Server certificates are not checked against CAs: trust comes from the
 * attestation. TLS sessions are never resumed, so every connection proves the key afresh.
 *
 * @example
 * const agent = new AttestedAgent({ policy: loadPolicy('policy.json'), identity: loadIdentity('./alice'), keepAlive: true });
 * https.request('https://127.0.0.1:8443/hello', { agent }, (res) => res.pipe(process.stdout)).end();
 * // or any library that takes an agent: axios.get(url, { httpsAgent: agent })
 */
export class AttestedAgent extends Agent {
  private readonly attested: AttestedKeys;
  private readonly identity: AttestedAgentOptions['identity'];
  private readonly timeoutMs: number;

  constructor(options: AttestedAgentOptions) {
    const { policy, identity, onAttested, timeoutMs, ...agentOptions } = options;
    super({ ...agentOptions, maxCachedSessions: 0 });
    this.timeoutMs = timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attested = new AttestedKeys({ policy, onAttested, timeoutMs: this.timeoutMs });
    this.identity = identity;
  }

  /** Opens a TLS connection and hands it to the request only once its key is attested. */
  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    if (callback === undefined) throw new TypeError('AttestedAgent verifies connections asynchronously: createConnection needs its callback.');
    // Whatever the request asked for: the server's certificate is self-signed by design, the
    // identity is the agent's, and a resumed session would present no key to check.
    const { session: _resumed, ...requested } = options as RequestOptions & { session?: Buffer };
    const socket = super.createConnection({
      ...requested,
      rejectUnauthorized: false,
      ...(this.identity && { key: this.identity.keyPem, cert: this.identity.certPem }),
    }) as TLSSocket;
    const target = { host: options.host ?? options.hostname ?? 'localhost', port: options.port ?? 443 };

    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', finish);
      if (error !== null) socket.destroy();
      callback(error, socket);
    };
    const timer = setTimeout(
      () => finish(new ClientError('TIMEOUT', `${target.host}:${target.port} did not complete the TLS handshake and attestation within ${this.timeoutMs} ms.`)),
      this.timeoutMs,
    );
    socket.once('error', finish);
    socket.once('secureConnect', () => {
      this.attested.check(target, socket).then(() => finish(null), finish);
    });
    return undefined;
  }
}
