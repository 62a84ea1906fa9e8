/**
 * The egress allowlist as the proxy in the enclave and the relay on the parent enforce it
 * (DESIGN.md, invariant 4): deny by default, exact host and exact port, host names
 * case-insensitive, one trailing dot ignored, IP literals only when listed as such. No wildcards,
 * no subdomains, and nothing here resolves a name, so a name and an address of it stay different.
 * The outbound app checks its targets against the same list with the same code.
 */

/** A host and port a connection would go to. */
export interface EgressTarget {
  host: string;
  port: number;
}

/**
 * The canonical form of a host name or IP literal, or `undefined` if it is not one: the WHATWG
 * URL parser's host (the form `fetch` dials: lower case, IDNA-mapped, IPv4 dotted decimal, IPv6
 * compressed in brackets), without one trailing dot. Anything that could carry a port, userinfo,
 * a path or an escape is refused rather than re-read as some other host. An IPv4 address is
 * accepted only as it is written canonically (four decimal parts, no leading zeros, no trailing
 * dot): `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all name 127.0.0.1 to a URL parser
 * and to a resolver, and a list that names `127.0.0.1` must not be reached by them. Since a host
 * whose last label is numeric parses as IPv4, no name that passes here reads as a number.
 */
export function canonicalHost(raw: string): string | undefined {
  const bracketed = raw.includes(':') && !raw.startsWith('[') ? `[${raw}]` : raw;
  if (bracketed === '' || /[\s/\\?#@%]/.test(bracketed)) return undefined;
  if (bracketed.startsWith('[') !== bracketed.endsWith(']')) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${bracketed}/`).hostname;
  } catch {
    return undefined;
  }
  if (IPV4.test(hostname) && hostname !== raw) return undefined;
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  // An empty label is no DNS name, and refusing it keeps this idempotent (`a..` never becomes `a`).
  return host.split('.').includes('') ? undefined : host;
}

/** How the URL parser writes every IPv4 address it reads. */
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** `host:port`, IPv6 in brackets (as `canonicalHost` gives it). */
export const describeTarget = (target: EgressTarget): string => `${target.host}:${target.port}`;

/** Whether `port` is a TCP port a connection can name (1 to 65535). */
export const isPort = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65_535;

/** The exact host:port pairs that may be reached; everything else is refused. */
export class EgressAllowlist {
  private readonly allowed = new Set<string>();

  /** Throws a TypeError naming an entry whose host does not parse or whose port is out of range. */
  constructor(entries: readonly EgressTarget[]) {
    for (const entry of entries) {
      const host = canonicalHost(entry.host);
      if (host === undefined) throw new TypeError(`outbound: "${entry.host}" is not a host name or IP literal.`);
      if (!isPort(entry.port)) throw new TypeError(`outbound: ${JSON.stringify(entry.port)} is not a port (1 to 65535) for ${entry.host}.`);
      this.allowed.add(describeTarget({ host, port: entry.port }));
    }
  }

  /** How many distinct pairs are listed. */
  get size(): number {
    return this.allowed.size;
  }

  /** The canonical target when `target` is listed, `undefined` when it is not (or does not parse). */
  match(target: EgressTarget): EgressTarget | undefined {
    const host = canonicalHost(target.host);
    if (host === undefined || !isPort(target.port)) return undefined;
    const canonical = { host, port: target.port };
    return this.allowed.has(describeTarget(canonical)) ? canonical : undefined;
  }

  allows(target: EgressTarget): boolean {
    return this.match(target) !== undefined;
  }
}
