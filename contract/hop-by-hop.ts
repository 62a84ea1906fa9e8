/**
 * Connection-scoped headers (RFC 9110 §7.6.1) that describe one hop and are never forwarded, by
 * the ingress or by the egress proxy: lower case, as Node gives header names.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
