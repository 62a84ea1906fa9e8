import type { IngressBinding } from '../../attestation/ingress-binding';
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Nsm } from '../../attestation/nsm/nsm';
import { type Logger, jsonLinesLogger } from '../../contract/log';
import type { Address } from '../../transport/address';
import { listenOn } from '../../transport/listen';
import { ManagedServer } from '../../transport/managed-server';
import { type Caller, CallerDirectory, type EnclaveEntry, type UserEntry } from './caller-directory';
import { AppForwarder, pathOf } from './forward';
import { RateLimit } from './rate-limit';
import { rawErrorResponse, sendError } from './respond';
import { WELL_KNOWN_PREFIX, WellKnown } from './well-known';

export { type Caller, type EnclaveEntry, type UserEntry } from './caller-directory';
export { ENCLAVE_ATTESTATION_OID, issueEnclaveClientCertificate } from './enclave-client-certificate';
export { type TlsIdentity, generateTlsIdentity } from './tls-identity';

/** How the ingress listens, whom it admits, and where it forwards. */
export interface IngressOptions {
  /** Where clients connect: tcp (port 0 = any free port) or unix. */
  listen: Address;
  /** Where the app listens (unix socket or loopback tcp). */
  app: Address;
  /** The enclave-born TLS key and its certificate (see `generateTlsIdentity`). */
  tls: { keyPem: string; certPem: string };
  /** Signs the documents of the attestation endpoint. */
  nsm: Nsm;
  /** What every document's user_data binds: the config digest, the instance id and the results key's thumbprint. */
  binding: IngressBinding;
  /** Served verbatim at `GET /.well-known/cloister/config`. */
  configJson: string;
  /** Callers identified by their client key: `sha256:<hex of the SPKI DER digest>` or a public JWK. */
  users: UserEntry[];
  /** Peer enclaves identified by the attestation document in their client certificate. */
  enclaves: EnclaveEntry[];
  /**
   * While false, requests for the app get 503 `APP_UNAVAILABLE` with Retry-After at once, but for
   * GET, HEAD and OPTIONS without a body, which wait for the app a few seconds (see forward.ts).
   */
  isAppReady?: () => boolean;
  /** Structured log lines (default: JSON lines on stdout). Never given bodies, keys or query strings. */
  log?: Logger;
  /** Which requests get a `request` line: a sampled share (0 to 1), or none (`off`). Default: every one. */
  requests?: RequestLogging;
  limits?: IngressLimits;
}

/** The configuration's `logging.requests`. */
export type RequestLogging = { sample: number } | 'off';

/** Limits against oversized and slow clients; every one has a default. */
export interface IngressLimits {
  /** Largest request head (request line and headers), in bytes; beyond it 431. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Largest request body, in bytes; beyond it 413. Default 256 MiB. */
  maxBodyBytes?: number;
  /** Time for a client to complete its TLS handshake and then send a request head; default 10 s. */
  headersTimeoutMs?: number;
  /** Time for a client to send a whole request, body included; default 5 minutes. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept; default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Attestation documents per client address per minute; all clients together get ten times this. Default 120. */
  attestationsPerMinute?: number;
  /** Most client connections at once; one more is closed as it is accepted. Default 1024, as many as the bridge in front relays. */
  maxConnections?: number;
}

/** A running ingress. */
export interface Ingress {
  /** The address bound (with the actual port when tcp port 0 was asked for). */
  address: Address;
  /** Stops accepting connections, lets requests in flight finish for a few seconds, then closes the rest. */
  close(): Promise<void>;
}

const DEFAULT_LIMITS: Required<IngressLimits> = {
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 256 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  attestationsPerMinute: 120,
  maxConnections: 1024,
};
const OVERALL_ATTESTATION_FACTOR = 10;
const CLOSE_GRACE_MS = 5_000;
/** TLS 1.3 suites are all AEAD; for TLS 1.2 only ECDHE with AEAD, the suites matching an ECDSA key. */
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
].join(':');

/**
 * Starts the ingress: HTTPS with the enclave-born key, callers identified by their client
 * certificate's key (users) or attestation (peer enclaves), every client-sent `X-OBLV-*` header
 * removed and the caller's `X-OBLV-User-Name` / `X-OBLV-User-Role` injected, requests streamed to
 * the app, and the attestation and configuration endpoints served here. Throws before listening
 * when an option is malformed.
 *
 * @example
 * const tls = await generateTlsIdentity();
 * const ingress = await startIngress({ listen: parseAddress('tcp://127.0.0.1:0'), app: parseAddress('unix:///run/app.sock'),
 *   tls, nsm, binding: { config, instance, results }, configJson, users: config.users, enclaves: config.enclaves ?? [] });
 */
export async function startIngress(options: IngressOptions): Promise<Ingress> {
  const log = options.log ?? jsonLinesLogger;
  const limits = resolveLimits(options.limits);
  const callers = new CallerDirectory(options.users, options.enclaves, log);
  const wellKnown = new WellKnown({
    nsm: options.nsm,
    tlsSpki: new X509Certificate(options.tls.certPem).publicKey.export({ type: 'spki', format: 'der' }),
    binding: options.binding,
    configJson: options.configJson,
    rateLimit: new RateLimit(limits.attestationsPerMinute, limits.attestationsPerMinute * OVERALL_ATTESTATION_FACTOR),
    log,
  });
  const forwarder = new AppForwarder(options.app, log, options.isAppReady);
  const requestShare = options.requests === undefined ? 1 : options.requests === 'off' ? 0 : options.requests.sample;
  /** The caller of each TLS connection, settled once when its handshake completes. */
  const callerOf = new WeakMap<Socket, Caller | null>();
  /** The response each connection is producing, so a parse error is never written into the middle of one. */
  const responding = new WeakMap<Socket, ServerResponse>();

  const server = createServer(
    {
      key: options.tls.keyPem,
      cert: options.tls.certPem,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: CIPHERS,
      honorCipherOrder: true,
      ALPNProtocols: ['http/1.1'],
      // Clients are known by their key, not by a CA: any certificate is accepted here and then
      // looked up; the handshake itself proves the client holds the certificate's private key.
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: limits.headersTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      insecureHTTPParser: false,
      requireHostHeader: true,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node enforces the two request timeouts only when it sweeps its connections; sweep often
      // enough that a slow client is cut near its deadline, not up to 30 s later.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    (req, res) => {
      const caller = callerOf.get(req.socket) ?? undefined;
      responding.set(req.socket, res);
      const started = process.hrtime.bigint();
      // Drawn per request, so a share of 1 logs every request and 0 none, without a draw at all.
      const logged = requestShare >= 1 || (requestShare > 0 && Math.random() < requestShare);
      res.on('close', () => {
        if (responding.get(req.socket) === res) responding.delete(req.socket);
        if (!logged) return;
        log({
          level: 'info',
          event: 'request',
          method: req.method,
          path: pathOf(req.url),
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          caller: caller?.name,
          ...(res.writableFinished ? {} : { aborted: true }),
        });
      });
      route(req, res, caller).catch(() => {
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'The ingress failed to handle this request.', { close: true });
        else res.destroy();
      });
    },
  );

  const route = async (req: IncomingMessage, res: ServerResponse, caller: Caller | undefined): Promise<void> => {
    const url = req.url ?? '';
    // Only origin-form targets: an absolute URL or `*` would let the app and the ingress read the
    // path differently.
    if (!url.startsWith('/')) {
      return sendError(res, 400, 'BAD_REQUEST_TARGET', 'The request target must be a path starting with "/".', { close: true });
    }
    if ((req.headersDistinct.host?.length ?? 0) > 1) {
      return sendError(res, 400, 'BAD_HOST', 'The request carries more than one Host header.', { close: true });
    }
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (path.startsWith(WELL_KNOWN_PREFIX)) {
      // Behind the bridge every client has the bridge's address, so an authenticated caller is
      // counted as itself: one busy client cannot use up the documents of the others.
      const client = caller ? `caller:${caller.name}` : `address:${req.socket.remoteAddress ?? 'local'}`;
      return wellKnown.handle(req, res, path, queryAt < 0 ? '' : url.slice(queryAt + 1), client);
    }
    forwarder.forward(req, res, caller, limits.maxBodyBytes);
  };

  server.on('secureConnection', (socket: TLSSocket) => {
    // One client, one identity: renegotiating to another certificate mid-connection is refused.
    socket.disableRenegotiation();
    let caller: Caller | undefined;
    try {
      caller = callers.identify(socket.getPeerX509Certificate());
    } catch {
      // A certificate Node can parse but not export the key of (an exotic key type): anonymous.
      log({ level: 'warn', event: 'client_certificate_unreadable' });
    }
    callerOf.set(socket, caller ?? null);
  });
  // Nothing behind the ingress speaks a protocol other than HTTP/1.1, and a connection handed over
  // to one would escape header filtering: protocol switches and tunnels are refused, and the
  // connection closed, so no byte after them is ever read as a request.
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    refuseRaw(req, socket, rawErrorResponse(501, 'Not Implemented', 'UPGRADE_NOT_SUPPORTED', 'This ingress does not switch protocols (no WebSocket, no h2c).'));
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    refuseRaw(req, socket, rawErrorResponse(405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED', 'This ingress is not a forward proxy: CONNECT is refused.'));
  });
  const refuseRaw = (req: IncomingMessage, socket: Socket, response: string) => {
    log({ level: 'warn', event: 'request_refused', method: req.method, path: pathOf(req.url), caller: callerOf.get(socket)?.name });
    // An earlier pipelined response still being written must not be interleaved with this one.
    if (!responding.has(socket)) socket.write(response);
    socket.destroySoon();
  };
  server.on('tlsClientError', (e: NodeJS.ErrnoException) => {
    log({ level: 'warn', event: 'tls_error', code: e.code ?? 'UNKNOWN' });
  });
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Socket) => {
    log({ level: 'warn', event: 'bad_request', code: e.code ?? 'UNKNOWN' });
    const current = responding.get(socket);
    if (e.code !== 'ECONNRESET' && socket.writable && (!current || !current.headersSent)) {
      socket.end(parseErrorResponse(e.code));
    }
    socket.destroy();
  });

  // HTTP keeps the idle deadlines here (handshake, head, request, keep-alive), as it knows where a request ends.
  const managed = new ManagedServer(server, { maxConnections: limits.maxConnections, closeGraceMs: CLOSE_GRACE_MS });
  const address = await listenOn(server, options.listen);
  // After listening, a server error (e.g. out of file descriptors on accept) is logged, not thrown.
  server.on('error', (e: NodeJS.ErrnoException) => log({ level: 'error', event: 'ingress_error', code: e.code ?? 'UNKNOWN' }));
  let closing: Promise<void> | undefined;
  return { address, close: () => (closing ??= managed.close().then(() => forwarder.close())) };
}

function parseErrorResponse(code: string | undefined): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return rawErrorResponse(431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'The request head is larger than this ingress accepts.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawErrorResponse(408, 'Request Timeout', 'REQUEST_TIMEOUT', 'The request was not received in time.');
    default:
      return rawErrorResponse(
        400,
        'Bad Request',
        'BAD_REQUEST',
        'The request is not well-formed HTTP/1.1 (or is ambiguous about where it ends), so it was refused.',
      );
  }
}

function resolveLimits(given: IngressLimits = {}): Required<IngressLimits> {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given) as [keyof IngressLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`Unknown ingress limit "${key}".`);
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`The ingress limit ${key} must be a positive integer; got ${value}.`);
    limits[key] = value;
  }
  // Node refuses a head deadline beyond the whole-request one.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) limits.headersTimeoutMs = limits.requestTimeoutMs;
  return limits;
}
