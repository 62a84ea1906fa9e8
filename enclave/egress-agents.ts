import http, { type ClientRequestArgs } from 'node:http';
import https from 'node:https';
import { type Socket, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { CodedError } from '../contract/coded-error';

/** Why a connection through the egress proxy could not be made. */
export type EgressConnectErrorCode =
  /** The proxy answered CONNECT with a refusal (403: not on the outbound list; 502/503: the target or relay failed). */
  | 'EGRESS_REFUSED'
  /** The proxy could not be reached, closed early, answered nothing readable, or too slowly. */
  | 'EGRESS_UNAVAILABLE';

/** A connection the egress proxy refused or could not make; `status` is the proxy's HTTP status when it answered. */
export class EgressConnectError extends CodedError<EgressConnectErrorCode> {
  constructor(
    code: EgressConnectErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(code, message);
  }
}

/** Longest proxy answer (head and refusal body) read before the tunnel is up. */
const MAX_REPLY_BYTES = 16_384;
/** The proxy answers within its relay timeout (15 s); this only guards against a proxy that hangs. */
const REPLY_TIMEOUT_MS = 30_000;

interface ProxyEndpoint {
  host: string;
  port: number;
}

type ConnectCallback = (error: Error | null, stream?: Duplex) => void;
type CreateConnection = (this: http.Agent, options: ClientRequestArgs & { socket?: Duplex }, callback?: ConnectCallback) => Duplex | undefined;

function parseProxyUrl(proxyUrl: string): ProxyEndpoint {
  const proxy = new URL(proxyUrl);
  if (proxy.protocol !== 'http:') throw new Error(`The egress proxy must be an http:// URL, not ${proxy.protocol}//…`);
  return { host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || 80) };
}

/** The proxy's refusal sentence from its JSON body `{error, message}`, when there is one. */
function refusalReason(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks the proxy for a tunnel to host:port with CONNECT and hands over the raw socket once the
 * proxy answers 200; bytes the proxy sent after its answer are put back for the next reader.
 */
function openTunnel(proxy: ProxyEndpoint, host: string, port: number, done: (error: Error | null, socket?: Socket) => void): void {
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const socket = connect(proxy.port, proxy.host);
  let received = Buffer.alloc(0);
  let settled = false;
  const settle = (error: Error | null) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.off('data', onData).off('error', onError).off('close', onClose);
    if (error) {
      socket.destroy();
      done(error);
    } else {
      done(null, socket);
    }
  };
  const unavailable = (why: string) =>
    new EgressConnectError('EGRESS_UNAVAILABLE', `The egress proxy at ${proxy.host}:${proxy.port} ${why} (CONNECT ${authority}).`);
  const refused = (status: number, body: string) =>
    new EgressConnectError(
      'EGRESS_REFUSED',
      `The egress refused ${authority} (${status}): ${refusalReason(body) ?? 'no reason given'}. Only the host:port pairs under "outbound" in the configuration can be reached.`,
      status,
    );
  const timer = setTimeout(() => settle(unavailable(`did not answer within ${REPLY_TIMEOUT_MS / 1000} s`)), REPLY_TIMEOUT_MS);
  // A refusal's body ends with the connection (the proxy closes after every refusal).
  let refusal: { status: number; bodyStart: number } | undefined;
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    if (received.length > MAX_REPLY_BYTES) return settle(unavailable('sent an oversized answer'));
    if (refusal) return;
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return;
    const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(received.subarray(0, end).toString('latin1'))?.[1]);
    if (!status) return settle(unavailable('answered something that is not HTTP'));
    if (status !== 200) {
      refusal = { status, bodyStart: end + 4 };
      return;
    }
    if (received.length > end + 4) socket.unshift(received.subarray(end + 4));
    settle(null);
  };
  const onClose = () => {
    if (refusal) settle(refused(refusal.status, received.subarray(refusal.bodyStart).toString('utf8')));
    else settle(unavailable('closed the connection before answering'));
  };
  const onError = (e: NodeJS.ErrnoException) => {
    if (!refusal) settle(unavailable(`cannot be reached (${e.code ?? e.message})`));
  };
  socket.on('data', onData).on('error', onError).on('close', onClose);
  socket.once('connect', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
}

/**
 * Wraps an agent's own `createConnection` so that TCP connections go through the proxy: the
 * tunnel is opened first, then plain HTTP uses it as is and HTTPS runs the agent's own TLS setup
 * over it (so `ca`, `servername`, client certificates and session reuse behave as without a
 * proxy, and TLS stays end to end). Unix-socket requests are not egress and are left alone.
 */
function throughProxy(proxy: ProxyEndpoint, secure: boolean, original: CreateConnection): CreateConnection {
  return function createConnection(this: http.Agent, options, callback) {
    if (options.socketPath) return original.call(this, options, callback);
    const done: ConnectCallback = callback ?? (() => {});
    const host = String(options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port ?? (secure ? 443 : 80));
    openTunnel(proxy, host, port, (error, socket) => {
      if (error || !socket) return done(error);
      if (!secure) return done(null, socket);
      try {
        done(null, original.call(this, { ...options, socket }));
      } catch (e) {
        socket.destroy();
        done(e as Error);
      }
    });
    return undefined;
  };
}

// Node's own `createConnection`s, taken once so that routing twice never wraps a wrapper.
const httpCreateConnection = http.Agent.prototype.createConnection as unknown as CreateConnection;
const httpsCreateConnection = https.Agent.prototype.createConnection as unknown as CreateConnection;

/**
 * An HTTPS agent whose every connection is a CONNECT tunnel through the egress proxy at
 * `proxyUrl`, with TLS end to end to the destination: the proxy sees only host and port. The
 * supervisor gives it to its own KMS client; the app gets all agents routed instead.
 */
export function httpsEgressAgent(proxyUrl: string): https.Agent {
  const agent = new https.Agent({ keepAlive: true });
  agent.createConnection = throughProxy(parseProxyUrl(proxyUrl), true, httpsCreateConnection) as unknown as typeof agent.createConnection;
  return agent;
}

/**
 * Sends every TCP connection that Node's `http` and `https` agents make in this process, whoever
 * created the agent (the global agents, the AWS SDK's, axios's…), through the egress proxy at
 * `proxyUrl` with CONNECT. This is how the app's code reaches the egress without changes; there
 * is no exemption list, as the supervisor exempts nothing (NO_PROXY is empty). Code that replaces
 * `createConnection` on its own agent chose its transport itself and keeps it.
 */
export function routeAgentsThroughProxy(proxyUrl: string): void {
  const proxy = parseProxyUrl(proxyUrl);
  http.Agent.prototype.createConnection = throughProxy(proxy, false, httpCreateConnection) as unknown as typeof http.Agent.prototype.createConnection;
  https.Agent.prototype.createConnection = throughProxy(proxy, true, httpsCreateConnection) as unknown as typeof https.Agent.prototype.createConnection;
}
