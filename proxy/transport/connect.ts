import type { Address } from './address';

/** Where `net.connect` or `http.request` reaches an address: a host and port, or a socket path. */
export type ConnectTarget = { host: string; port: number } | { path: string };

/**
 * The connect options for `address`. vsock needs the native transport, which this build does not
 * have yet, so it is refused here with a message rather than failing somewhere deep in `net`.
 */
export function connectTarget(address: Address): ConnectTarget {
  switch (address.kind) {
    case 'tcp':
      return { host: address.host, port: address.port };
    case 'unix':
      return { path: address.path };
    case 'vsock':
      throw new TypeError(`vsock://${address.cid}:${address.port}: vsock is not supported by this transport yet; use tcp:// or unix://.`);
  }
}
