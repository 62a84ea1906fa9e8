import { canonicalHost, type EgressTarget } from '../../express';

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * The destination of an http(s) URL: its canonical host and its explicit port, or the scheme's
 * default one. `undefined` for other schemes or a host that does not normalise.
 */
export function destinationOf(url: URL): EgressTarget | undefined {
  const defaultPort = DEFAULT_PORTS[url.protocol];
  const host = canonicalHost(url.hostname);
  if (defaultPort === undefined || host === undefined) return undefined;
  return { host, port: url.port === '' ? defaultPort : Number(url.port) };
}
