import { type EgressTarget, canonicalHost, isPort } from '../../contract/allowlist';

/**
 * Parses an authority `host:port` as a CONNECT line or a Host header carries it: the port is
 * required unless `defaultPort` is given, and nothing else may appear (no userinfo, no path).
 * Returns the canonical host and the port, or `undefined` when malformed.
 */
export function parseAuthority(text: string, defaultPort?: number): EgressTarget | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:@/\\?#[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port === undefined || !isPort(port)) return undefined;
  const host = canonicalHost(match[1]!);
  return host === undefined ? undefined : { host, port };
}
