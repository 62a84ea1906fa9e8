import { type Socket, createServer } from 'node:net';
import { type Logger, jsonLinesLogger } from '../../contract/log';
import type { Address } from '../../transport/address';
import { openConnection } from '../../transport/connect';
import { listenOn } from '../../transport/listen';
import { ManagedServer } from '../../transport/managed-server';
import { loadVsockAddon } from '../../transport/vsock';

export interface BridgeOptions {
  /** Where clients connect (on the parent instance: tcp://0.0.0.0:443). */
  listen: Address;
  /** Where each connection is forwarded (on the parent instance: the enclave's vsock ingress). */
  target: Address;
  /** Structured log lines (default: JSON lines on stdout); the bridge never sees plaintext anyway. */
  log?: Logger;
  /** Most client connections relayed at once; more are closed at accept (default 1024). */
  maxConnections?: number;
  /** A relayed connection with no byte either way for this long is closed (default 10 minutes). */
  idleTimeoutMs?: number;
}

/** A running bridge. */
export interface Bridge {
  /** The address bound (with the actual port when tcp port 0 was asked for). */
  address: Address;
  /** Stops accepting and closes both sides of every relayed connection at once: a byte relay has no request boundary to drain to. */
  close(): Promise<void>;
}

/** A target that does not accept a connection by then is treated as down and the client is closed. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * After one side has closed cleanly, the other side's last bytes still flow out; if it then stays
 * silent this long without closing its own half, it is dropped rather than kept half-open forever.
 */
const LINGER_MS = 30_000;
const DEFAULT_MAX_CONNECTIONS = 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 600_000;

/**
 * Relays every accepted connection byte for byte to `target`: the parent instance's tcp://…:443 ⇄
 * vsock bridge (locally tcp ⇄ unix or tcp). It never reads what it carries, which is TLS end to
 * end between the client and the enclave. Each direction keeps backpressure and half-close (one
 * side's FIN is passed on while the other direction keeps flowing); an error or reset on either
 * side closes both, and a target that cannot be reached closes the client at once.
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const log = options.log ?? jsonLinesLogger;
  if (options.target.kind === 'vsock') loadVsockAddon(); // vsock unavailable here: fail now, not per connection

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => {}); // a client reset is an ordinary end here; 'close' tears down the pair
    client.setNoDelay(true);
    // The client is paused until the target answers; a client gone meanwhile (closing the bridge
    // destroys it too) cancels the connect.
    const gone = new AbortController();
    const cancel = () => gone.abort(new Error('client closed'));
    client.once('close', cancel);
    openConnection(options.target, { allowHalfOpen: true, timeoutMs: CONNECT_TIMEOUT_MS, signal: gone.signal }).then(
      (upstream) => {
        client.off('close', cancel);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        managed.track(upstream);
        upstream.on('error', () => {});
        upstream.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
        tie(client, upstream);
        tie(upstream, client);
        client.resume();
      },
      (e: NodeJS.ErrnoException) => {
        client.off('close', cancel);
        if (gone.signal.aborted) return;
        log({ level: 'warn', event: 'bridge_connect_failed', code: e.code ?? 'UNKNOWN' });
        abort(client);
      },
    );
  });
  const managed = new ManagedServer(server, {
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    onRefused: (client) => {
      log({ level: 'warn', event: 'bridge_connection_dropped', reason: 'maxConnections' });
      client.destroy();
    },
    // The client's timer sees every byte of the pair; its target follows it (see tie).
    onIdle: (client) => {
      log({ level: 'info', event: 'bridge_idle_closed' });
      abort(client);
    },
  });
  const address = await listenOn(server, options.listen);
  // After listening, a server error (e.g. out of file descriptors on accept) is logged, not thrown.
  server.on('error', (e: NodeJS.ErrnoException) => log({ level: 'error', event: 'bridge_error', code: e.code ?? 'UNKNOWN' }));
  return { address, close: () => managed.close() };
}

/**
 * When `from` closes, `to` follows: after its last bytes if `from` ended both ways cleanly, at once
 * if `from` was cut off (an error, or destroyed with a direction still open, as when idle).
 */
function tie(from: Socket, to: Socket): void {
  from.on('close', (hadError) => {
    if (to.destroyed) return;
    if (hadError || !from.readableEnded || !from.writableFinished) {
      abort(to);
      return;
    }
    to.end();
    to.setTimeout(LINGER_MS, () => to.destroy());
  });
}

/**
 * Closes a socket with a reset where the transport has one (TCP), so that the peer sees the
 * failure as a failure: a plain FIN would read as a clean end of the stream.
 */
function abort(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(); // unix and vsock sockets have no reset
  }
}
