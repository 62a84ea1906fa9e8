import { Server as HttpServer } from 'node:http';
import type { Server, Socket } from 'node:net';

/** The bounds a managed server keeps, and what it does at each of them. */
export interface ManagedServerOptions {
  /**
   * Most connections served at once. One more is refused as it is accepted, before the server's
   * own handling (TLS, HTTP, or the listener given to `createServer`) sees a byte of it, and is
   * counted in `refused`.
   */
  maxConnections: number;
  /**
   * A served connection with no byte either way for this long is handed to `onIdle`. On an HTTP
   * server, the wait between two requests of a kept-alive connection is bounded by its
   * `keepAliveTimeout` instead (HTTP sets the socket's one timer to it then). Absent, no idle
   * timeout is kept here: for a protocol with deadlines of its own, such as the ingress's HTTPS
   * with its handshake, header, request and keep-alive timeouts.
   */
  idleTimeoutMs?: number;
  /**
   * How long `close()` lets open connections finish before it destroys them. Default 0: at once,
   * as a relay of bytes wants, having no request boundary to wait for.
   */
  closeGraceMs?: number;
  /**
   * Answers a connection refused at the limit, given how many are being served; it must end the
   * socket before long. Default: destroyed at once.
   */
  onRefused?: (socket: Socket, served: number) => void;
  /** Closes a connection idle for `idleTimeoutMs`; it may log why first. Default: destroyed. */
  onIdle?: (socket: Socket) => void;
}

/**
 * One listening server's connections, bounded and closed the same way whatever it speaks: a byte
 * relay (`net.Server`), an HTTP proxy (`http.Server`) or an HTTPS ingress (`https.Server`). It
 * keeps the connection limit, the idle timeout, the set of open sockets and the graceful close.
 *
 * Wrap the server before it listens and before anything else listens to its `connection` event:
 * the handlers present then are moved behind the limit, while one added later would see refused
 * connections too.
 *
 * @example
 * const server = createServer({ allowHalfOpen: true }, relayOne);
 * const managed = new ManagedServer(server, { maxConnections: 256, idleTimeoutMs: 300_000 });
 * await listenOn(server, address);
 * // …
 * await managed.close();
 */
export class ManagedServer {
  readonly #server: Server;
  /** Every socket that close() must end: accepted ones, served or being refused, and `track`ed ones. */
  readonly #open = new Set<Socket>();
  #served = 0;
  #refused = 0;
  #closing: Promise<void> | undefined;
  /** Set once close() has destroyed what remained: a socket tracked after that is destroyed at once. */
  #forced = false;
  /** While closing: resolves close() once the server and every socket are closed. */
  #settle: (() => void) | undefined;
  readonly #closeGraceMs: number;

  constructor(server: Server, options: ManagedServerOptions) {
    const { maxConnections, idleTimeoutMs, closeGraceMs = 0 } = options;
    positiveInteger('maxConnections', maxConnections);
    if (idleTimeoutMs !== undefined) positiveInteger('idleTimeoutMs', idleTimeoutMs);
    if (!Number.isSafeInteger(closeGraceMs) || closeGraceMs < 0)
      throw new RangeError(`closeGraceMs must be a whole number of milliseconds; got ${closeGraceMs}.`);
    this.#server = server;
    this.#closeGraceMs = closeGraceMs;
    const onRefused = options.onRefused ?? ((socket: Socket) => socket.destroy());
    const onIdle = options.onIdle ?? ((socket: Socket) => socket.destroy());

    // Node's own `server.maxConnections` closes a connection over it before any socket exists, so
    // nothing could answer it (the egress relay says BUSY); the limit is kept here instead, in
    // front of the handlers the server already has.
    const handlers = server.listeners('connection') as ((this: Server, socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      this.#hold(socket);
      if (this.#served >= maxConnections) {
        this.#refused++;
        // A refused peer that resets while being answered is no error of this server's.
        socket.on('error', () => {});
        onRefused(socket, this.#served);
        return;
      }
      this.#served++;
      socket.once('close', () => this.#served--);
      if (idleTimeoutMs !== undefined) {
        socket.setTimeout(idleTimeoutMs);
        // A listener of its own, not setTimeout's callback: it stays when an HTTP server hands the
        // socket over (CONNECT), and fires again each time HTTP re-arms the timer.
        socket.on('timeout', () => onIdle(socket));
      }
      for (const handler of handlers) handler.call(server, socket);
    });
    // An HTTP server re-arms each socket's timer itself when a request follows a keep-alive wait,
    // to `server.timeout` (0, none, by default): that has to be the idle timeout, or the first
    // keep-alive would switch it off.
    if (idleTimeoutMs !== undefined && server instanceof HttpServer) server.timeout = idleTimeoutMs;
  }

  /** Connections being served now (refused ones not included). */
  get connections(): number {
    return this.#served;
  }

  /** Connections refused at the limit since the server started. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Adds a socket opened for one of the connections (the other end of a relay) to those close()
   * ends. It does not count against the limit, and it needs no idle timer of its own: every byte it
   * carries passes through the connection it serves, whose timer therefore sees them.
   */
  track(socket: Socket): void {
    if (this.#forced) {
      socket.destroy();
      return;
    }
    this.#hold(socket);
  }

  /**
   * Stops accepting, lets open connections finish for `closeGraceMs`, then destroys what remains.
   * Resolves once the server and every socket it held are closed; calling it again returns the
   * same promise.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      let listening = true;
      const force = () => {
        this.#forced = true;
        for (const socket of this.#open) socket.destroy();
      };
      const grace = this.#closeGraceMs > 0 ? setTimeout(force, this.#closeGraceMs) : undefined;
      const settle = () => {
        if (listening || this.#open.size > 0) return;
        clearTimeout(grace);
        resolve();
      };
      this.#settle = settle;
      // An HTTP server's close() also closes its keep-alive connections that are between requests.
      this.#server.close(() => {
        listening = false;
        settle();
      });
      if (grace === undefined) force();
    });
    return this.#closing;
  }

  #hold(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => {
      this.#open.delete(socket);
      this.#settle?.();
    });
  }
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer; got ${value}.`);
}
