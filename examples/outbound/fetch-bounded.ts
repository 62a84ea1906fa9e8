import { type Dispatcher, type Response, fetch } from 'undici';

/** What came back, with the body cut at the byte limit and decoded as UTF-8. */
export interface BoundedResponse {
  status: number;
  contentType: string | null;
  /** The `Location` header, as sent: redirects are reported, never followed. */
  location: string | null;
  body: string;
  /** True when the upstream had more than the limit; the rest was never read. */
  truncated: boolean;
  /** Bytes of body returned (after any content decoding by fetch, before UTF-8 decoding). */
  bytes: number;
}

/** Why an upstream request produced no response. */
export type UpstreamFailureReason = 'timeout' | 'unreachable' | 'cancelled';

/** The upstream request failed; `detail` is a short cause such as `ECONNREFUSED`, never data. */
export class UpstreamFailure extends Error {
  constructor(
    readonly reason: UpstreamFailureReason,
    readonly detail?: string,
  ) {
    super(detail ? `${reason} (${detail})` : reason);
    this.name = 'UpstreamFailure';
  }
}

/** How {@link fetchBounded} reaches the upstream and how much of it it takes. */
export interface FetchBoundedOptions {
  dispatcher: Dispatcher;
  maxBodyBytes: number;
  /** Covers everything: connecting, the response head and reading the body. */
  timeoutMs: number;
  /** Aborts the request early, e.g. when the caller has gone away. */
  signal?: AbortSignal;
}

/**
 * GETs `url` through `dispatcher` without following redirects and reads at most `maxBodyBytes`
 * of its body, so neither a slow nor a huge upstream can hold the app or its memory for long.
 *
 * @throws UpstreamFailure when there is no response within `timeoutMs`, the connection fails,
 *   or `signal` aborts.
 */
export async function fetchBounded(url: URL, options: FetchBoundedOptions): Promise<BoundedResponse> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const onCallerAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (options.signal?.aborted) controller.abort();

  try {
    const response = await fetch(url, { dispatcher: options.dispatcher, redirect: 'manual', signal: controller.signal });
    const read = await readAtMost(response.body, options.maxBodyBytes);
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      location: response.headers.get('location'),
      body: new TextDecoder('utf-8').decode(read.bytes),
      truncated: read.truncated,
      bytes: read.bytes.byteLength,
    };
  } catch (err) {
    if (timedOut) throw new UpstreamFailure('timeout');
    if (controller.signal.aborted) throw new UpstreamFailure('cancelled');
    throw new UpstreamFailure('unreachable', causeCode(err));
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * Reads a body chunk by chunk until it ends or passes `limit`; past the limit the stream is
 * cancelled, which closes the upstream connection instead of draining it.
 */
async function readAtMost(body: Response['body'], limit: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!body) return { bytes: new Uint8Array(0), truncated: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concat(chunks, total), truncated: false };
    if (total + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - total));
      // Cancelling can reject if the stream already failed; the bytes we kept are still good.
      await reader.cancel().catch(() => {});
      return { bytes: concat(chunks, limit), truncated: true };
    }
    chunks.push(value);
    total += value.byteLength;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** The system error code behind undici's generic "fetch failed" (ECONNREFUSED, ENOTFOUND, …). */
function causeCode(err: unknown): string | undefined {
  // Duck-typed: errors from Node's own sockets may come from another realm than `Error` here.
  let e = err as { code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if (typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}
