import { type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger, jsonLinesLogger } from '../../contract/log';
import { type Address, formatAddress } from '../../transport/address';
import { openConnection } from '../../transport/connect';
import { listenOn } from '../../transport/listen';
import { ManagedServer } from '../../transport/managed-server';
import { EgressAllowlist, type EgressTarget, canonicalHost, describeTarget } from '../../contract/allowlist';
import { parseAuthority } from './parse-authority';
import { MAX_TLS_RECORD_BODY, MalformedClientHello, TLS_HANDSHAKE_RECORD, firstRecordLength, parseClientHelloSni } from './client-hello';
import { splice } from '../../transport/pipe';
import { type RelayReply, decodeReply, encodeTunnelRequest, readLine } from '../../contract/egress-protocol';
import { HOP_BY_HOP_HEADERS } from '../../contract/hop-by-hop';

export interface ForwardProxyOptions {
  /** Where the proxy listens (default tcp://127.0.0.1:0, a port chosen by the system). */
  listen?: Address;
  /** The parent's egress relay (vsock://3:5001 in an enclave; a unix socket or TCP locally). */
  relay: Address;
  /** The `outbound` entries of the runtime configuration. */
  outbound: readonly EgressTarget[];
  log?: Logger;
  /** Most client connections at once (default 256). */
  maxConnections?: number;
  /** A tunnel with no bytes either way for this long is closed (default 5 minutes). */
  idleTimeoutMs?: number;
  /** Time for the relay to answer a tunnel request, its dialling included (default 15 s). */
  relayTimeoutMs?: number;
  /** Time for a tunnel's first TLS record (the ClientHello) to arrive whole once it has begun (default 5 s). */
  clientHelloTimeoutMs?: number;
}

export interface ForwardProxy {
  /** Where it listens, with the actual port. */
  address: Address;
  /** `http://127.0.0.1:PORT`: the value for HTTP_PROXY and HTTPS_PROXY. */
  url: string;
  /** Stops accepting and closes every connection and tunnel. */
  close(): Promise<void>;
}

/** A refusal or failure, answered to the client as `status` with a JSON body `{error, message}`. */
interface Refusal {
  status: 400 | 403 | 502 | 503;
  error: string;
  message: string;
}

const HTTP_PORT = 80;

const REASONS: Record<Refusal['status'], string> = { 400: 'Bad Request', 403: 'Forbidden', 502: 'Bad Gateway', 503: 'Service Unavailable' };

/**
 * The egress proxy inside the enclave (DESIGN.md, invariant 4): an HTTP forward proxy on loopback
 * for `CONNECT host:port` (https and any other TCP protocol) and absolute-URI requests
 * (`GET http://host:port/path`). Every target is checked against the allowlist before any
 * connection is made; a refusal is a 403 whose JSON body names the host:port. Allowed targets
 * are reached through the relay on the parent (see protocol.ts), which checks the list again and
 * dials. Refused too: a Host header naming another target than the request line, userinfo,
 * https:// in absolute form (use CONNECT), origin-form requests, and anything malformed. Logs
 * carry host and port only, never a path or query string.
 */
export async function startForwardProxy(options: ForwardProxyOptions): Promise<ForwardProxy> {
  const log = options.log ?? jsonLinesLogger;
  const allowlist = new EgressAllowlist(options.outbound);
  const idleMs = options.idleTimeoutMs ?? 300_000;
  const relayMs = options.relayTimeoutMs ?? 15_000;
  const helloMs = options.clientHelloTimeoutMs ?? 5_000;

  const refused = (kind: string, refusal: Refusal, target?: EgressTarget) =>
    log({ level: 'warn', event: 'egress_refused', kind, error: refusal.error, ...(target && { host: target.host, port: target.port }) });

  /** Checks a target the client asked for; a refusal when it is not allowed. */
  const check = (target: EgressTarget): EgressTarget | Refusal =>
    allowlist.match(target) ??
    refusal(
      403,
      'DESTINATION_NOT_ALLOWED',
      `${describeTarget(target)} is not on this enclave's outbound allowlist; only the exact host:port pairs under "outbound" in the configuration can be reached.`,
    );

  /** Opens a tunnel to `target` through the relay: the socket once the relay says ok, or why not. */
  const openTunnel = async (target: EgressTarget): Promise<Socket | Refusal> => {
    let socket: Socket;
    try {
      // tcp, unix or (inside an enclave) vsock to the parent: one call for every transport.
      socket = await openConnection(options.relay, { allowHalfOpen: true });
    } catch (e) {
      const detail = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      return refusal(502, 'EGRESS_RELAY_UNREACHABLE', `the egress relay at ${formatAddress(options.relay)} cannot be reached (${detail})`);
    }
    managed.track(socket);
    // A reset before the tunnel is spliced must not crash the proxy; its user sees the close.
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.write(encodeTunnelRequest(target));
    try {
      const reply = decodeReply(await readLine(socket, relayMs));
      if (reply?.ok) return socket;
      socket.destroy();
      return relayRefusal(reply, target);
    } catch (e) {
      socket.destroy();
      return refusal(502, 'EGRESS_RELAY_FAILED', `the egress relay gave no answer for ${describeTarget(target)} (${(e as Error).message})`);
    }
  };

  const server = createServer({ requireHostHeader: false });
  // A tunnel's every byte passes through its client's socket, whose idle timeout therefore bounds it.
  const managed = new ManagedServer(server, { maxConnections: options.maxConnections ?? 256, idleTimeoutMs: idleMs });

  // CONNECT host:port — a tunnel, after the allowlist and Host checks.
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on('error', () => {});
    const checked = checkConnect(req);
    const target = isRefusal(checked) ? checked : check(checked);
    if (isRefusal(target)) {
      refused('connect', target, isRefusal(checked) ? undefined : checked);
      return writeRaw(client, target);
    }
    void openTunnel(target).then((tunnel) => {
      if (isRefusal(tunnel)) {
        refused('connect', tunnel, target);
        return writeRaw(client, tunnel);
      }
      if (client.destroyed) return tunnel.destroy();
      log({ level: 'info', event: 'egress_tunnel', kind: 'connect', host: target.host, port: target.port });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      const opening = screenFirstBytes(client, head, target, helloMs).then((screened) => {
        if (!isRefusal(screened)) return screened;
        refused('connect', screened, target);
        return undefined;
      });
      splice(client, tunnel, opening);
    });
  });

  // Requests a client sent on the connection after its first one. Each forwarded request is
  // answered with Connection: close, so a later one could never be answered: it is refused
  // before anything reaches a target, and the client sends it again on a new connection.
  const served = new WeakSet<Socket>();

  // GET http://host:port/path — forwarded through a tunnel of its own, in origin form.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (served.has(req.socket)) {
      req.resume();
      return answer(res, refusal(400, 'ONE_REQUEST_PER_CONNECTION', 'this proxy answers one request per connection; send it again on a new one'));
    }
    served.add(req.socket);
    const checked = checkAbsolute(req);
    const allowed = isRefusal(checked) ? checked : check(checked.target);
    if (isRefusal(allowed)) {
      refused('forward', allowed, isRefusal(checked) ? undefined : checked.target);
      req.resume();
      return answer(res, allowed);
    }
    const { path } = checked as { path: string };
    void openTunnel(allowed).then((tunnel) => {
      if (isRefusal(tunnel)) {
        refused('forward', tunnel, allowed);
        req.resume();
        return answer(res, tunnel);
      }
      log({ level: 'info', event: 'egress_tunnel', kind: 'forward', host: allowed.host, port: allowed.port });
      forward(req, res, path, tunnel);
    });
  });

  server.on('clientError', (_e, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  const listen = options.listen ?? { kind: 'tcp', host: '127.0.0.1', port: 0 };
  const address = await listenOn(server, listen);
  const url = address.kind === 'tcp' ? `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}` : formatAddress(address);
  return { address, url, close: () => managed.close() };
}

/**
 * The first bytes a client sends into a CONNECT tunnel, read before any reaches the relay. When
 * they begin a TLS handshake record, the whole record (at most 16 KiB, within `timeoutMs`) must
 * be a ClientHello whose SNI, if it names a host, names the CONNECT target once canonicalised;
 * otherwise the refusal (the caller closes the tunnel without forwarding a byte). No SNI, and
 * bytes that are not TLS, pass. Waiting for the first byte has no time limit: the target may be
 * the one to speak first, and that direction is not held.
 */
function screenFirstBytes(client: Socket, head: Buffer, target: EgressTarget, timeoutMs: number): Promise<Buffer | Refusal> {
  return new Promise((resolve) => {
    let got = head;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: Buffer | Refusal) => {
      clearTimeout(timer);
      client.pause();
      client.off('data', onData).off('end', onEnd).off('close', onEnd);
      resolve(result);
    };
    const malformed = (why: string) => refusal(403, 'SNI_MALFORMED', `the TLS ClientHello sent for ${describeTarget(target)} is not accepted (${why})`);
    // Done when the answer is known from `got`; `undefined` while more bytes are needed.
    const decide = (): Buffer | Refusal | undefined => {
      if (got.length === 0) return undefined;
      if (got[0] !== TLS_HANDSHAKE_RECORD) return got;
      let length: number | undefined;
      let name: string | undefined;
      try {
        length = firstRecordLength(got);
        if (length === undefined || got.length < length) {
          timer ??= setTimeout(() => finish(malformed('not complete in time')), timeoutMs);
          return undefined;
        }
        name = parseClientHelloSni(got.subarray(0, length));
      } catch (e) {
        return malformed(e instanceof MalformedClientHello ? e.message : 'unreadable');
      }
      if (name !== undefined && canonicalHost(name) !== target.host) {
        return refusal(403, 'SNI_MISMATCH', `the TLS server name does not name ${describeTarget(target)}, the CONNECT target`);
      }
      return got;
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length > 5 + MAX_TLS_RECORD_BODY + 65_536) return finish(malformed('too long'));
      const result = decide();
      if (result !== undefined) finish(result);
    };
    const onEnd = () => finish(got.length > 0 && got[0] === TLS_HANDSHAKE_RECORD ? malformed('incomplete') : got);
    const first = decide();
    if (first !== undefined) return finish(first);
    client.on('data', onData).on('end', onEnd).on('close', onEnd);
    client.resume();
  });
}

function refusal(status: Refusal['status'], error: string, message: string): Refusal {
  return { status, error, message };
}

function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'status' in value && 'error' in value;
}

function relayRefusal(reply: RelayReply | undefined, target: EgressTarget): Refusal {
  const where = describeTarget(target);
  if (reply === undefined) return refusal(502, 'EGRESS_RELAY_FAILED', `the egress relay answered something unreadable for ${where}`);
  if (reply.ok) throw new Error('unreachable');
  switch (reply.error) {
    case 'NOT_ALLOWED':
      return refusal(403, 'DESTINATION_NOT_ALLOWED', `${where} is refused by the egress relay's allowlist (it differs from this enclave's)`);
    case 'CONNECT_FAILED':
      return refusal(502, 'UPSTREAM_UNREACHABLE', `${where}: ${reply.message}`);
    case 'BUSY':
      return refusal(503, 'EGRESS_RELAY_BUSY', `the egress relay is at its connection limit; retry later`);
    case 'BAD_REQUEST':
      return refusal(502, 'EGRESS_RELAY_FAILED', `the egress relay did not accept the tunnel request for ${where}`);
  }
}

/** Host headers given, whatever their case; more than one is refused. */
function hostHeaders(req: IncomingMessage): string[] {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') values.push(req.rawHeaders[i + 1]!);
  return values;
}

/**
 * The Host header agrees with the target, or a refusal. A Host without a port names `defaultPort`:
 * http's 80 for an absolute URI (so `http://a:8080/` with `Host: a` disagrees), the target's own
 * port for CONNECT.
 */
function checkHost(req: IncomingMessage, target: EgressTarget, required: boolean, defaultPort: number): Refusal | undefined {
  const hosts = hostHeaders(req);
  if (hosts.length > 1) return refusal(400, 'MALFORMED_REQUEST', 'more than one Host header');
  if (hosts.length === 0) return required ? refusal(400, 'MALFORMED_REQUEST', 'an HTTP/1.1 request needs a Host header') : undefined;
  const host = parseAuthority(hosts[0]!, defaultPort);
  if (!host || host.host !== target.host || host.port !== target.port) {
    return refusal(403, 'HOST_MISMATCH', `the Host header does not name ${describeTarget(target)}, the target of the request line`);
  }
  return undefined;
}

function checkConnect(req: IncomingMessage): EgressTarget | Refusal {
  const version = checkVersion(req);
  if (version) return version;
  const target = parseAuthority(req.url ?? '');
  if (!target) return refusal(400, 'MALFORMED_TARGET', 'CONNECT needs host:port (a host name or IP literal and a port, nothing else)');
  return checkHost(req, target, false, target.port) ?? target;
}

/**
 * HTTP/1.0 or 1.1 only. A request line without a version is what the parser makes of
 * `CONNECT a:443` followed by a bare LF: whatever came after it would be read as tunnel bytes.
 */
function checkVersion(req: IncomingMessage): Refusal | undefined {
  return req.httpVersionMajor === 1 && (req.httpVersionMinor === 0 || req.httpVersionMinor === 1)
    ? undefined
    : refusal(400, 'MALFORMED_REQUEST', 'the request line must end with HTTP/1.1 (or HTTP/1.0) and CRLF');
}

/** The target and the origin-form path of an absolute-URI request, or a refusal. */
function checkAbsolute(req: IncomingMessage): { target: EgressTarget; path: string } | Refusal {
  const version = checkVersion(req);
  if (version) return version;
  const raw = req.url ?? '';
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(raw);
  if (!scheme) return refusal(400, 'MALFORMED_TARGET', 'this is a forward proxy: send an absolute http:// URL, or CONNECT host:port');
  if (scheme[1]!.toLowerCase() !== 'http') {
    return refusal(400, 'MALFORMED_TARGET', `only http:// URLs are forwarded; use CONNECT host:port for ${scheme[1]!.toLowerCase()}`);
  }
  const rest = raw.slice(scheme[0].length);
  const end = rest.search(/[/?#\\]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  let path = end < 0 ? '/' : rest.slice(end);
  if (authority.includes('@')) return refusal(403, 'USERINFO_NOT_ALLOWED', 'a URL with user:password@ is not forwarded');
  if (path.startsWith('?')) path = `/${path}`;
  if (!path.startsWith('/') || path.includes('#')) return refusal(400, 'MALFORMED_TARGET', 'the URL has no valid path');
  const target = parseAuthority(authority, HTTP_PORT);
  if (!target) return refusal(400, 'MALFORMED_TARGET', 'the URL has no valid host and port');
  // The WHATWG parser (what fetch would use) must read the same host and port, or the URL is ambiguous.
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refusal(400, 'MALFORMED_TARGET', 'the URL does not parse');
  }
  if (url.username !== '' || url.password !== '') return refusal(403, 'USERINFO_NOT_ALLOWED', 'a URL with user:password@ is not forwarded');
  if (canonicalHost(url.hostname) !== target.host || (url.port === '' ? HTTP_PORT : Number(url.port)) !== target.port) {
    return refusal(400, 'MALFORMED_TARGET', 'the URL is ambiguous');
  }
  return checkHost(req, target, true, HTTP_PORT) ?? { target, path };
}

/**
 * Sends `req` in origin form over `tunnel` and streams the answer back. The client's socket carries
 * every byte of the exchange, so its idle timeout ends the tunnel too (through `res` closing).
 */
function forward(req: IncomingMessage, res: ServerResponse, path: string, tunnel: Socket): void {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP_HEADERS.has(req.rawHeaders[i]!.toLowerCase())) headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  headers.push('Connection', 'close');
  tunnel.resume();
  let upstream: ReturnType<typeof httpRequest>;
  try {
    upstream = httpRequest({ method: req.method, path, headers, setHost: false, createConnection: () => tunnel });
  } catch {
    // e.g. a path with characters Node will not send: nothing reached the target beyond the connection.
    tunnel.destroy();
    req.resume();
    return answer(res, refusal(400, 'MALFORMED_TARGET', 'the request cannot be forwarded as given'));
  }
  upstream.on('response', (answer) => {
    const back: string[] = [];
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      if (!HOP_BY_HOP_HEADERS.has(answer.rawHeaders[i]!.toLowerCase())) back.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
    }
    // One request per connection (see `served`): the client learns it is the last one.
    back.push('Connection', 'close');
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, back);
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('error', () => {
    if (!res.headersSent) answer(res, refusal(502, 'UPSTREAM_FAILED', 'the upstream connection failed before a response'));
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

function body(r: Refusal): string {
  return JSON.stringify({ error: r.error, message: r.message });
}

function answer(res: ServerResponse, r: Refusal): void {
  const text = body(r);
  // A refused client gets no second try on the same connection.
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', connection: 'close' });
  res.end(text);
}

/** A response written directly on a CONNECT socket (no ServerResponse there), then the socket closed. */
function writeRaw(socket: Socket, r: Refusal): void {
  const text = body(r);
  socket.end(
    `HTTP/1.1 ${r.status} ${REASONS[r.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
