import { type Socket, connect } from 'node:net';
import { type Address, formatAddress } from './address';
import { connectVsock } from './vsock';

/** Where `net.connect` or `http.request` reaches an address: a host and port, or a socket path. */
export type ConnectTarget = { host: string; port: number } | { path: string };

/**
 * The `net.connect` options for a tcp or unix address. A vsock address has none (Node cannot
 * make vsock sockets): it is refused here with a message; use `openConnection`, which reaches
 * every kind of address.
 */
export function connectTarget(address: Address): ConnectTarget {
  switch (address.kind) {
    case 'tcp':
      return { host: address.host, port: address.port };
    case 'unix':
      return { path: address.path };
    case 'vsock':
      throw new TypeError(`${formatAddress(address)}: net.connect cannot reach a vsock address; use openConnection from proxy/transport/connect.`);
  }
}

export interface OpenConnectionOptions {
  /** Give up connecting after this long; default 5 s (tcp, unix) or 2 s (vsock, the kernel's default). */
  timeoutMs?: number;
  /** Keep the writable side open after the peer ends. */
  allowHalfOpen?: boolean;
  /** Aborting cancels a connect under way; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * A connected `net.Socket` to any address: tcp, unix, or vsock (through the native transport).
 * Rejects with the connect error (a `VsockError` for vsock; a system error with `code` otherwise),
 * `ETIMEDOUT` after `timeoutMs`.
 */
export function openConnection(address: Address, options: OpenConnectionOptions = {}): Promise<Socket> {
  if (address.kind === 'vsock') return connectVsock(address.cid, address.port, options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<Socket>((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason);
    const socket = connect({ ...connectTarget(address), allowHalfOpen: options.allowHalfOpen ?? false });
    const done = () => {
      clearTimeout(timer);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onError = (e: Error) => {
      done();
      socket.destroy();
      reject(e);
    };
    const onAbort = () => onError(options.signal?.reason);
    const timer = setTimeout(
      () => onError(Object.assign(new Error(`cannot connect to ${formatAddress(address)}: timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      done();
      resolve(socket);
    });
  });
}
