import { chmodSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';
import { ConfigError, parseConfig } from '../contract/config';
import { createLogger } from '../contract/log';
import { createResultSigner } from '../contract/signed-result';
import type { Address } from '../transport/address';
import { appConfigOf, appContextOf, appModuleOf } from '../contract/app-context';
import { APP_LOG_FD, type FromAppChild, type ToAppChild } from './app-protocol';
import { routeAgentsThroughProxy } from './egress-agents';
import { batchedOutput } from './logs/batched-output';
import { pipeOutput } from './logs/pipe-output';

// The supervisor sets HTTP(S)_PROXY to the enclave's egress proxy. With no change to the app's
// code, `fetch` (Node's own reads undici's global dispatcher) uses it as a proxy, and every
// connection of Node's `http` and `https` agents (the global ones, the AWS SDK's, …) is tunnelled
// through it with CONNECT.
if (process.env.HTTPS_PROXY || process.env.HTTP_PROXY) setGlobalDispatcher(new EnvHttpProxyAgent());
const egressProxy = process.env.HTTPS_PROXY || process.env.HTTP_PROXY;
if (egressProxy) routeAgentsThroughProxy(egressProxy);

/**
 * The app process for an app given as a module: forked by the supervisor, it loads the module by
 * path, checks the configuration's `apps` block with the schema the module declares, and serves
 * the module's request listener on the address the supervisor gives it and nowhere else. Only the
 * ingress connects there, so identity headers that reach the app were set by the ingress.
 */

/** Longer than any keep-alive the ingress holds, so the app never closes a connection the ingress is about to reuse. */
const KEEP_ALIVE_MS = 65_000;
/** How long in-flight requests get once the supervisor asks the app to stop. */
const STOP_GRACE_MS = 2_000;
/** How long the app's own log lines (its context's `log`) wait to share a write; its console lines go at once. */
const LOG_BATCH_MS = 10;

function send(message: FromAppChild): Promise<void> {
  return new Promise((resolve) => {
    if (process.send) process.send(message, undefined, {}, () => resolve());
    else resolve();
  });
}

function listen(server: Server, address: Address): Promise<Address> {
  if (address.kind === 'vsock') return Promise.reject(new Error('the app listens on a unix socket or loopback TCP, not vsock'));
  if (address.kind === 'unix') {
    // A socket left by a previous app process that died would make listen fail with EADDRINUSE.
    rmSync(address.path, { force: true });
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      if (address.kind === 'unix') {
        // Owner only: the directory is private already, this closes the socket itself too.
        chmodSync(address.path, 0o600);
        resolve(address);
      } else {
        resolve({ kind: 'tcp', host: address.host, port: (server.address() as AddressInfo).port });
      }
    };
    if (address.kind === 'unix') server.listen(address.path, listening);
    else server.listen(address.port, address.host, listening);
  });
}

function stop(server: Server): void {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
}

async function start(message: ToAppChild): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = appModuleOf(require(message.module), message.module);
  const config = parseConfig(message.config);
  const listener = module.default(
    appConfigOf(module, config),
    appContextOf(config, createLogger({ write: batchedOutput(LOG_BATCH_MS, pipeOutput(APP_LOG_FD)) }), createResultSigner(message.results)),
  );
  const server = createServer(listener);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  process.on('SIGTERM', () => stop(server));
  await send({ type: 'ready', address: await listen(server, message.listen) });
}

// The supervisor decides when the app stops: a terminal's Ctrl-C reaches the whole process group,
// and the app must keep serving while the supervisor drains the ingress.
process.on('SIGINT', () => {});
// Logs are best effort: a log reader that went away (EPIPE) must not take the app down with it.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
// If the supervisor is gone, nobody can reach this app any more, and nobody would stop it.
process.on('disconnect', () => process.exit(0));
process.once('message', (message: ToAppChild) => {
  start(message).catch(async (e: unknown) => {
    await send({ type: 'failed', message: e instanceof Error ? e.message : String(e), ...(e instanceof ConfigError && { code: 'INVALID_CONFIG' as const }) });
    process.exit(1);
  });
});
