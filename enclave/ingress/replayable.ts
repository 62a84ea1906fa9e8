import type { IncomingMessage } from 'node:http';

/** Methods that change nothing at the app, so sending one twice is the same as sending it once. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether the ingress may send this request to the app again after a first attempt got no byte
 * back: an idempotent method and no body, so nothing the client sent is lost or doubled.
 */
export function isReplayable(req: IncomingMessage): boolean {
  if (!IDEMPOTENT_METHODS.has(req.method ?? '')) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/** How often readiness is looked at while a replayable request waits for the app. */
const POLL_MS = 20;

/**
 * Resolves true as soon as `isReady()` holds, false after `withinMs` or once `gaveUp()` does (the
 * client went away): how a replayable request waits out an app restart instead of failing.
 */
export async function waitUntil(isReady: () => boolean, withinMs: number, gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!isReady()) {
    if (gaveUp() || Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return !gaveUp();
}
