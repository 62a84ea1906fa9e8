import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as examples from '../examples';
import { hostApp } from '../express/testing';
import { DevNsm } from '../attestation/dev';
import { configDigest } from '../contract/config-digest';
import { startBridge } from '../parent/bridge';
import { startIngress } from '../enclave/ingress';
import { generateTlsIdentity } from '../enclave/ingress/tls-identity';
import { type Address, formatAddress, parseAddress } from '../transport/address';

/**
 * One server process of a benchmark, started (see start-server-process.ts) as
 * `node server-process.js <role> <args>` so that app, ingress and bridge each run in their own
 * process, as they do in an enclave:
 *   app <listen-address> <config-json>
 *   ingress <listen-address> <app-address> <config-json> <dev-nsm-dir>
 *   bridge <listen-address> <target-address>
 *   tls-relay <listen-address> <unix-socket-path>
 * Prints {"address": "..."} once listening; SIGTERM stops it.
 */
async function main(): Promise<void> {
  const [role, ...args] = process.argv.slice(2);
  const silent = () => {};
  if (role === 'app') {
    const listen = parseAddress(args[0]!);
    const server = createServer(hostApp(examples, JSON.parse(args[1]!), { log: silent }));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) =>
      listen.kind === 'unix' ? server.listen(listen.path, resolve) : server.listen(listen.kind === 'tcp' ? listen.port : 0, '127.0.0.1', resolve),
    );
    const port = (server.address() as { port?: number }).port;
    ready(listen.kind === 'tcp' ? `tcp://127.0.0.1:${port}` : args[0]!);
  } else if (role === 'ingress') {
    const document = JSON.parse(args[2]!);
    const nsm = await DevNsm.open({ dir: args[3]! });
    const tls = await generateTlsIdentity();
    const ingress = await startIngress({
      listen: parseAddress(args[0]!),
      app: parseAddress(args[1]!),
      tls,
      nsm,
      binding: { config: configDigest(document), instance: Buffer.from(await nsm.getRandom()).subarray(0, 16), results: randomBytes(32) },
      configJson: JSON.stringify(document),
      users: document.users,
      enclaves: [],
      limits: { attestationsPerMinute: 100_000 },
      // Like the app in (a), which logs nothing: the comparison is of the request path alone.
      log: silent,
    });
    ready(formatAddress(ingress.address));
  } else if (role === 'bridge') {
    const bridge = await startBridge({ listen: parseAddress(args[0]!), target: parseAddress(args[1]!), log: silent });
    ready(formatAddress(bridge.address));
  } else if (role === 'tls-relay') {
    ready(await startTlsRelay(parseAddress(args[0]!), args[1]!));
  } else {
    throw new Error(`unknown role ${role}`);
  }
  process.on('SIGTERM', () => process.exit(0));
}

/**
 * The floor the benchmarks measure the ingress against: a TLS server with a key of the same kind
 * as the ingress's, asking for a client certificate as it does, that relays each connection's
 * plaintext byte for byte to the app's unix socket. No HTTP parsing, no header check, no identity,
 * no log: what any ingress that ends TLS in a process of its own costs at least on this machine.
 * A benchmark baseline only; nothing in Cloister works this way.
 */
async function startTlsRelay(listen: Address, appSocket: string): Promise<string> {
  if (listen.kind !== 'tcp') throw new Error('the TLS relay listens on tcp:// only');
  const tls = await generateTlsIdentity();
  const server = createTlsServer({ key: tls.keyPem, cert: tls.certPem, requestCert: true, rejectUnauthorized: false }, (client) => {
    const app = connect(appSocket);
    client.setNoDelay(true);
    client.pipe(app).pipe(client);
    client.on('error', () => app.destroy());
    app.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(listen.port, '127.0.0.1', resolve));
  return `tcp://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const ready = (address: string) => process.stdout.write(`${JSON.stringify({ address })}\n`);

/** A scratch directory for sockets and the development NSM of one bench run. */
export const scratch = () => mkdtempSync(join(tmpdir(), 'cloister-bench-'));

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
