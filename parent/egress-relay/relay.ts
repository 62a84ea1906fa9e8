import { type Socket, connect, createServer } from 'node:net';
import { type Logger, jsonLinesLogger } from '../../contract/log';
import type { Address } from '../../transport/address';
import { listenOn } from '../../transport/listen';
import { ManagedServer } from '../../transport/managed-server';
import { EgressAllowlist, type EgressTarget, describeTarget } from '../../contract/allowlist';
import { splice } from '../../transport/pipe';
import { type RelayReply, decodeTunnelRequest, encodeReply, readLine } from '../../contract/egress-protocol';

export interface RelayOptions {
  /** Where the proxy in the enclave connects (on the parent instance: vsock port 5001). */
  listen: Address;
  /** The `outbound` entries of the runtime configuration: checked again here (defence in depth). */
  outbound: readonly EgressTarget[];
  log?: Logger;
  /** Most tunnels open at once; more are refused with BUSY (default 256). */
  maxConnections?: number;
  /** A tunnel with no bytes either way for this long is closed (default 5 minutes). */
  idleTimeoutMs?: number;
  /** Time for the proxy to send its request line (default 5 s). */
  requestTimeoutMs?: number;
  /** Time for the target to accept the connection (default 10 s). */
  connectTimeoutMs?: number;
}

export interface Relay {
  address: Address;
  /** Stops accepting and closes every tunnel. */
  close(): Promise<void>;
}

/**
 * The egress relay on the parent instance: for each tunnel request (see protocol.ts) it checks the
 * host and port against the allowlist, then resolves the name and dials it, answers `ok` once the
 * connection is open and pipes bytes without reading them. Logs carry host and port only.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const log = options.log ?? jsonLinesLogger;
  const allowlist = new EgressAllowlist(options.outbound);
  const maxConnections = options.maxConnections ?? 256;
  const idleMs = options.idleTimeoutMs ?? 300_000;
  const requestMs = options.requestTimeoutMs ?? 5_000;
  const connectMs = options.connectTimeoutMs ?? 10_000;
  const refuse = (client: Socket, reply: Exclude<RelayReply, { ok: true }>) => {
    client.end(encodeReply(reply));
    client.setTimeout(1_000, () => client.destroy());
  };

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => {});
    void handle(client);
  });
  const managed = new ManagedServer(server, {
    maxConnections,
    idleTimeoutMs: idleMs,
    // The proxy in the enclave turns BUSY into a 503 its client may retry; a bare close would read as a broken relay.
    onRefused: (client, open) => {
      log({ level: 'warn', event: 'egress_relay_busy', open });
      refuse(client, { ok: false, error: 'BUSY', message: `the egress relay has ${open} tunnels open, its limit` });
    },
  });

  async function handle(client: Socket): Promise<void> {
    let line: string;
    try {
      line = await readLine(client, requestMs);
    } catch (e) {
      log({ level: 'warn', event: 'egress_relay_bad_request', reason: (e as Error).message });
      refuse(client, { ok: false, error: 'BAD_REQUEST', message: 'expected one JSON line {"v":1,"host":…,"port":…}' });
      return;
    }
    const requested = decodeTunnelRequest(line);
    if (!requested) {
      log({ level: 'warn', event: 'egress_relay_bad_request', reason: 'not a tunnel request' });
      refuse(client, { ok: false, error: 'BAD_REQUEST', message: 'expected one JSON line {"v":1,"host":…,"port":…}' });
      return;
    }
    const target = allowlist.match(requested);
    if (!target) {
      // The requested host may be anything; log it only in a bounded, printable form.
      const host = requested.host.slice(0, 255).replace(/[^\x21-\x7e]/g, '?');
      log({ level: 'warn', event: 'egress_relay_refused', host, port: requested.port });
      refuse(client, { ok: false, error: 'NOT_ALLOWED', message: `${host}:${requested.port} is not on the outbound allowlist` });
      return;
    }

    const where = describeTarget(target);
    const upstream = connect({ host: target.host.replace(/^\[|\]$/g, ''), port: target.port, allowHalfOpen: true });
    managed.track(upstream);
    upstream.setTimeout(connectMs, () => upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
    let connected = false;
    const stopEarly = () => upstream.destroy();
    client.once('close', stopEarly);
    upstream.once('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        log({ level: 'warn', event: 'egress_relay_connect_failed', host: target.host, port: target.port, code: e.code ?? 'UNKNOWN' });
        refuse(client, { ok: false, error: 'CONNECT_FAILED', message: `could not connect to ${where} (${e.code ?? 'error'})` });
      }
    });
    upstream.once('connect', () => {
      connected = true;
      client.off('close', stopEarly);
      upstream.setTimeout(0);
      upstream.setNoDelay(true);
      log({ level: 'info', event: 'egress_relay_open', host: target.host, port: target.port });
      client.write(encodeReply({ ok: true }));
      splice(client, upstream);
    });
  }

  const address = await listenOn(server, options.listen);
  server.on('error', (e: NodeJS.ErrnoException) => log({ level: 'error', event: 'egress_relay_error', code: e.code ?? 'UNKNOWN' }));
  return { address, close: () => managed.close() };
}
