import type { OutgoingHttpHeaders } from 'node:http';
import type { Caller } from './caller-directory';
// The identity headers of DESIGN.md are set only here.
import { USER_NAME_HEADER, USER_ROLE_HEADER } from '../../contract/identity';
import { HOP_BY_HOP_HEADERS } from '../../contract/hop-by-hop';

/**
 * Besides the hop-by-hop headers (the body's framing is re-done for the app's hop, so
 * Transfer-Encoding goes too): Expect, because this server has already answered it.
 */
const REQUEST_ONLY_HOP = new Set(['expect']);

/**
 * Whether a client-sent header claims to be one of the ingress's own. Anything that a server or
 * framework downstream could read as `x-oblv-…` counts: any case, and `_` for `-`, since some
 * stacks (CGI-style environments, nginx with underscores_in_headers) fold the two together.
 */
export function isReservedHeader(name: string): boolean {
  return name.toLowerCase().replace(/_/g, '-').startsWith('x-oblv-');
}

/**
 * The headers to send to the app: the client's, without any `X-OBLV-*` (in any spelling or count)
 * and without hop-by-hop headers, then exactly one `X-OBLV-User-Name` and one `X-OBLV-User-Role`
 * for an identified caller and neither for an anonymous one.
 */
export function requestHeadersForApp(rawHeaders: readonly string[], caller: Caller | undefined): OutgoingHttpHeaders {
  const headers = copyHeaders(rawHeaders, (name) => isReservedHeader(name) || REQUEST_ONLY_HOP.has(name));
  if (caller) {
    headers[USER_NAME_HEADER.toLowerCase()] = caller.name;
    headers[USER_ROLE_HEADER.toLowerCase()] = caller.role;
  }
  return headers;
}

/** The app's response headers for the client, without hop-by-hop headers. */
export function responseHeadersForClient(rawHeaders: readonly string[]): OutgoingHttpHeaders {
  return copyHeaders(rawHeaders, () => false);
}

/**
 * Copies `[name, value, name, value, …]` into an object of lower-case names, repeated headers as
 * arrays (Node writes them as separate lines again), without hop-by-hop headers, those that
 * Connection names, and those `drop` refuses.
 */
function copyHeaders(rawHeaders: readonly string[], drop: (lowerCaseName: string) => boolean): Record<string, string | string[]> {
  const named = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (HOP_BY_HOP_HEADERS.has(name) || named.has(name) || drop(name)) continue;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  return headers;
}
