/**
 * Where a Cloister process listens or connects, in one syntax for every transport:
 * `tcp://HOST:PORT` (HOST an IP or name; IPv6 in brackets), `unix:///absolute/path.sock` (or
 * `unix://relative/path.sock`), and, between an enclave and its parent, `vsock://CID:PORT`.
 */
export type Address = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string } | { kind: 'vsock'; cid: number; port: number };

/** Parses an address; throws a TypeError whose message shows the accepted forms. */
export function parseAddress(text: string): Address {
  const [scheme, rest = ''] = splitOnce(text, '://');
  if (scheme === 'unix' && rest.length > 0 && rest.length < 108) return { kind: 'unix', path: rest };
  if (scheme === 'tcp') {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(rest);
    const port = Number(match?.[2]);
    if (match && port <= 65_535) return { kind: 'tcp', host: match[1]!.replace(/^\[|\]$/g, ''), port };
  }
  if (scheme === 'vsock') {
    const match = /^(\d{1,10}):(\d{1,10})$/.exec(rest);
    if (match && Number(match[1]) <= 0xffffffff && Number(match[2]) <= 0xffffffff) {
      return { kind: 'vsock', cid: Number(match[1]), port: Number(match[2]) };
    }
  }
  throw new TypeError(`"${text}" is not an address; use tcp://HOST:PORT, unix:///path or vsock://CID:PORT.`);
}

/** The address in the syntax `parseAddress` reads. */
export function formatAddress(address: Address): string {
  switch (address.kind) {
    case 'tcp':
      return `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    case 'unix':
      return `unix://${address.path}`;
    case 'vsock':
      return `vsock://${address.cid}:${address.port}`;
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}
