import { Agent, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse, request } from 'node:http';
import type { Address } from '../../transport/address';
import { connectTarget } from '../../transport/connect';
import type { Logger } from '../../contract/log';
import type { Caller } from './caller-directory';
import { requestHeadersForApp, responseHeadersForClient } from './headers';
import { isReplayable, waitUntil } from './replayable';
import { sendError } from './respond';

/** Errors that mean nothing listens where the app should: it is starting, restarting or gone. */
const APP_DOWN = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EACCES']);
/** What a client told "the app is down" should wait before retrying, in seconds. */
export const RETRY_AFTER_SECONDS = '1';
/**
 * How long a replayable request (GET, HEAD, OPTIONS without a body) waits for a restarting app
 * before it is answered 503: longer than the app host's first restart backoff and start time.
 */
export const REPLAY_WINDOW_MS = 5_000;
/** The pause after a replayable attempt failed, before readiness is looked at again. */
const REPLAY_PAUSE_MS = 50;

/**
 * Forwards requests to the app over a keep-alive connection pool, streaming both bodies with
 * backpressure (nothing is buffered whole), so a large upload or download costs the ingress a few
 * chunks of memory, not its size.
 */
export class AppForwarder {
  private readonly agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  /** Requests whose failure to reach the app was logged already. */
  private readonly reported = new WeakSet<IncomingMessage>();
  private readonly target: Pick<RequestOptions, 'host' | 'port' | 'socketPath'>;

  constructor(
    app: Address,
    private readonly log: Logger,
    /** Whether the app listens now (always, when the ingress is not told). */
    private readonly isAppReady: () => boolean = () => true,
  ) {
    const target = connectTarget(app);
    this.target = 'path' in target ? { socketPath: target.path } : { host: target.host, port: target.port };
  }

  /**
   * Sends `req` to the app as `caller` (anonymous when undefined) and relays the answer. A body
   * beyond `maxBodyBytes` is 413; an unreachable app is 503 (nothing listens) or 502 (it failed
   * mid-request) with a JSON body; a client that goes away aborts the app's request. A replayable
   * request (see isReplayable) that reached no app, because it is restarting, waits for it within
   * `REPLAY_WINDOW_MS` and is sent once more, so no GET is lost to a restart.
   */
  forward(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, maxBodyBytes: number): void {
    const replayUntil = isReplayable(req) ? Date.now() + REPLAY_WINDOW_MS : undefined;
    if (this.isAppReady()) return this.send(req, res, caller, maxBodyBytes, replayUntil);
    if (replayUntil === undefined) return unavailable(res, req);
    void this.replayWhenReady(req, res, caller, maxBodyBytes, replayUntil);
  }

  /**
   * Sends a replayable request again once the app is ready, until `replayUntil`. The app host
   * notices a dead app a moment after connections to it start failing, so an attempt can fail
   * while the app still looks ready: each failure waits a little before looking again.
   */
  private async replayWhenReady(
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller | undefined,
    maxBodyBytes: number,
    replayUntil: number,
  ): Promise<void> {
    const ready = await waitUntil(this.isAppReady, replayUntil - Date.now(), () => res.destroyed);
    if (res.destroyed) return;
    if (ready) this.send(req, res, caller, maxBodyBytes, replayUntil);
    else unavailable(res, req);
  }

  /** One attempt; a replayable request that reached no app goes again until `replayUntil`. */
  private send(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, maxBodyBytes: number, replayUntil: number | undefined): void {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) return tooLarge(res, maxBodyBytes);

    let upstream: ClientRequest;
    try {
      const headers = requestHeadersForApp(req.rawHeaders, caller);
      upstream = request({ ...this.target, agent: this.agent, method: req.method, path: req.url, headers });
    } catch {
      // Node's client is stricter than its server about a few characters in paths and values.
      return sendError(res, 400, 'BAD_REQUEST', 'The request target or headers cannot be forwarded as they are.', { close: true });
    }

    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBodyBytes) return;
      req.off('data', count);
      req.unpipe(upstream);
      upstream.destroy();
      if (res.headersSent) res.destroy();
      else tooLarge(res, maxBodyBytes);
    };
    if (replayUntil !== undefined) {
      // Replayable: no body to stream, and it may be sent a second time after its end was read.
      upstream.end();
    } else {
      req.on('data', count);
      req.pipe(upstream);
    }

    // The client went away (or its response was cut): the app need not go on working for nobody.
    const abandon = () => {
      if (!res.writableFinished) upstream.destroy();
    };
    res.on('close', abandon);

    upstream.on('response', (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeadersForClient(answer.rawHeaders));
      answer.pipe(res);
      // The app died or reset mid-body: the client must see a broken response, not wait for the rest.
      answer.on('close', () => {
        if (!answer.complete) res.destroy();
      });
    });
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (res.writableEnded) return; // already answered, e.g. 413: the upstream was dropped on purpose
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const down = APP_DOWN.has(e.code ?? '');
      const replay = down && replayUntil !== undefined && Date.now() + REPLAY_PAUSE_MS < replayUntil;
      // Once per request: a GET waiting out a restart may try every 50 ms for seconds.
      if (!this.reported.has(req)) {
        this.reported.add(req);
        this.log({ level: 'error', event: 'app_unreachable', code: e.code ?? 'UNKNOWN', method: req.method, path: pathOf(req.url), replayed: replay });
      }
      if (replay) {
        // The next attempt watches the client itself.
        res.off('close', abandon);
        setTimeout(() => void this.replayWhenReady(req, res, caller, maxBodyBytes, replayUntil), REPLAY_PAUSE_MS);
      } else if (down) {
        unavailable(res, req);
      } else {
        sendError(res, 502, 'BAD_GATEWAY', 'The app failed to answer this request.', { close: !req.complete });
      }
    });
  }

  /** Closes the pooled connections to the app. */
  close(): void {
    this.agent.destroy();
  }
}

function unavailable(res: ServerResponse, req: IncomingMessage): void {
  sendError(res, 503, 'APP_UNAVAILABLE', 'The app is not answering right now (starting or restarting); retry shortly.', {
    close: !req.complete,
    headers: { 'retry-after': RETRY_AFTER_SECONDS },
  });
}

function tooLarge(res: ServerResponse, maxBodyBytes: number): void {
  // The unread rest of the body must not be parsed as a next request: close the connection.
  sendError(res, 413, 'BODY_TOO_LARGE', `The request body is larger than the ${maxBodyBytes} bytes this ingress accepts.`, { close: true });
}

/** The path of a request target, without the query string (which may carry data). */
export const pathOf = (url: string | undefined) => (url ?? '').split('?')[0]!.slice(0, 512);
