/** Where a request would connect: a normalised host (see {@link normalizeHost}) and a port. */
export interface Destination {
  host: string;
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * The canonical form of a host name or IP literal, or `undefined` if it is not one.
 *
 * Hosts go through the same WHATWG parser that `fetch` uses, so a listed host and a requested one
 * are compared in the form the connection will actually use: names lower-cased (and IDNA-mapped),
 * IPv4 in dotted decimal, IPv6 compressed and in brackets. One trailing dot is dropped because
 * `example.com.` and `example.com` name the same DNS node. Nothing here resolves a name: a name
 * and an address of it stay different hosts.
 */
export function normalizeHost(raw: string): string | undefined {
  // Bare IPv6 (as a config might list it) gets its brackets; a name with a port stays invalid.
  const host = raw.includes(':') && !raw.startsWith('[') ? `[${raw}]` : raw;
  // Anything that would end the authority or add userinfo/port makes the entry something other
  // than a bare host; refuse it instead of letting the parser quietly read a different one.
  if (host === '' || /[\s/\\?#@%]/.test(host) || (host.startsWith('[') && !host.endsWith(']'))) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  const canonical = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  // An empty label (`a..b`, `.a`, `a..`) is no DNS name. Refusing it also keeps this function
  // idempotent: a second pass must not strip a second dot and turn `a..` into a listed `a`.
  return canonical.split('.').includes('') ? undefined : canonical;
}

/**
 * The destination of an http(s) URL: its canonical host and its explicit port, or the scheme's
 * default one. `undefined` for other schemes or a host that does not normalise.
 */
export function destinationOf(url: URL): Destination | undefined {
  const defaultPort = DEFAULT_PORTS[url.protocol];
  const host = normalizeHost(url.hostname);
  if (defaultPort === undefined || host === undefined) return undefined;
  return { host, port: url.port === '' ? defaultPort : Number(url.port) };
}

/** `host:port` as people write it; the brackets of an IPv6 host keep it unambiguous. */
export const describeDestination = (d: Destination) => `${d.host}:${d.port}`;

/**
 * The egress allowlist of DESIGN.md invariant 4: deny by default, exact host and exact port. No
 * wildcards, no subdomains, no name-to-address equivalence.
 */
export class Allowlist {
  private readonly allowed = new Set<string>();

  /** @param entries validated by the configuration schema, which refuses hosts that do not normalise. */
  constructor(entries: readonly { host: string; port: number }[]) {
    for (const entry of entries) {
      const host = normalizeHost(entry.host);
      if (host === undefined) throw new TypeError(`"${entry.host}" is not a host name or IP literal; validate the configuration first.`);
      this.allowed.add(describeDestination({ host, port: entry.port }));
    }
  }

  /** Whether a connection to this host and port is allowed; the host is normalised first. */
  allows(destination: Destination): boolean {
    const host = normalizeHost(destination.host);
    return host !== undefined && this.allowed.has(describeDestination({ host, port: destination.port }));
  }
}
