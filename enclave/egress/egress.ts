import type { Logger } from '../../contract/log';
import { type Address, parseAddress } from '../../transport/address';
import type { EgressTarget } from '../../contract/allowlist';
import { type ForwardProxy, startForwardProxy } from './forward-proxy';
import { PARENT_CID, VSOCK_PORTS, vsockAddress } from '../../contract/vsock';

/** Where the parent's egress relay listens, as seen from an enclave: CID 3 (the parent), port 5001. */
export const DEFAULT_EGRESS_RELAY = vsockAddress(PARENT_CID, VSOCK_PORTS.egress);

/** The enclave's egress as the supervisor runs it. */
export interface Egress {
  proxy: ForwardProxy;
  /**
   * What the app's environment gets so that its `fetch` (undici's EnvHttpProxyAgent), curl-like
   * tools and the AWS SDK go through the proxy: HTTP(S)_PROXY in both cases, and an empty
   * NO_PROXY so that no host, loopback included, is exempt.
   */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the egress proxy on 127.0.0.1 (a port chosen by the system) with the configuration's
 * `outbound` list. It runs whether or not the list is empty: with no entries every request is a
 * clear 403, where an app without a proxy would try direct connections that an enclave cannot
 * make (and that local mode must not make either). The relay is dialled per connection, so a
 * relay not up yet only fails the requests made meanwhile.
 */
export async function startEgress(options: { relay?: Address; outbound: readonly EgressTarget[]; log: Logger }): Promise<Egress> {
  const relay = options.relay ?? parseAddress(DEFAULT_EGRESS_RELAY);
  const proxy = await startForwardProxy({ relay, outbound: options.outbound, log: options.log });
  options.log({ level: 'info', event: 'egress_listening', proxy: proxy.url, allowed: options.outbound.length });
  return { proxy, env: proxyEnvironment(proxy.url), close: () => proxy.close() };
}

/** The environment variables that send an HTTP client through `proxyUrl`. */
export function proxyEnvironment(proxyUrl: string): Record<string, string> {
  return {
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    NO_PROXY: '',
    no_proxy: '',
  };
}
