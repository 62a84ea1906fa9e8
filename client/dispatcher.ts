import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { type AttestedConnectionOptions, AttestedKeys } from './attested-keys';
import { ClientError } from './errors';
import type { ClientIdentity } from './identity';

/** The settings of an attested `fetch` dispatcher. */
export interface AttestedDispatcherOptions extends AttestedConnectionOptions {
  /** The client certificate to present (from `loadIdentity`); without one, calls are anonymous. */
  identity?: Pick<ClientIdentity, 'keyPem' | 'certPem'>;
  /** Further undici `Agent` options (pool sizes, keep-alive); the connector is always the attested one. */
  agent?: Omit<Agent.Options, 'connect'>;
}

/**
 * An undici dispatcher for `fetch` that talks only to attested enclaves: each new TLS connection
 * is handed to undici only once the key the server presented is one a document verified under
 * the policy vouches for (attesting first, with a fresh nonce, when none does); otherwise the
 * socket is destroyed and the fetch fails with the refusal as its `cause`, before any byte of
 * the request is written. Certificates are not checked against CAs and sessions are not resumed.
 * It is built for undici's own `fetch`; Node's built-in `fetch` (another undici version) takes it too.
 *
 * @example
 * import { fetch } from 'undici';
 * const dispatcher = attestedDispatcher({ policy: loadPolicy('policy.json'), identity: loadIdentity('./alice') });
 * const res = await fetch('https://127.0.0.1:8443/hello', { dispatcher });
 * await dispatcher.close();
 */
export function attestedDispatcher(options: AttestedDispatcherOptions): Agent {
  const attested = new AttestedKeys(options);
  const { identity } = options;
  const connectTls = buildConnector({
    rejectUnauthorized: false,
    maxCachedSessions: 0,
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    ...(identity && { key: identity.keyPem, cert: identity.certPem }),
  });
  const connect: buildConnector.connector = (target, callback) => {
    if (target.protocol !== 'https:') {
      return callback(new ClientError('BAD_URL', `${target.protocol}//${target.hostname} is not https: enclaves are reached over TLS only.`), null);
    }
    connectTls(target, (error, socket) => {
      if (error !== null) return callback(error, null);
      attested.check({ host: target.hostname, port: target.port || 443 }, socket as TLSSocket).then(
        () => callback(null, socket),
        (refusal: Error) => {
          socket.destroy();
          callback(refusal, null);
        },
      );
    });
  };
  return new Agent({ ...options.agent, connect });
}
