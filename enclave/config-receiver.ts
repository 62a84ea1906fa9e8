import { type Socket, createServer } from 'node:net';
import { type Logger, jsonLinesLogger } from '../contract/log';
import { type Address, formatAddress } from '../transport/address';
import { listenOn } from '../transport/listen';
import { type PushAnswer, asPushMessage, encodeFrame, readFrame } from '../contract/config-push-protocol';

export interface ReceiveConfigOptions<T> {
  /** Where to wait for the push (inside an enclave: vsock://4294967295:5002). */
  listen: Address;
  /**
   * Validates a pushed configuration; throws (with a message for the pusher) to refuse it.
   * Returns what the caller boots with and the digest to acknowledge.
   */
  accept(text: string, format: 'json' | 'yaml'): { value: T; digest: string };
  log?: Logger;
  /** Time a pusher has to send its whole frame once connected (default 10 s). */
  frameTimeoutMs?: number;
  /** Aborting stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called once listening, with the address bound. */
  onListening?(address: Address): void;
}

/**
 * Waits at `listen` for one valid configuration push. A push that
 * is malformed or that `accept` refuses gets `{ok: false, error}` and the wait goes on; the first
 * accepted one gets `{ok: true, digest}`, the listener closes, and its value is returned.
 */
export async function receiveConfig<T>(options: ReceiveConfigOptions<T>): Promise<T> {
  const log = options.log ?? jsonLinesLogger;
  const frameTimeoutMs = options.frameTimeoutMs ?? 10_000;
  let settled = false;
  let resolveValue!: (value: T) => void;
  let rejectValue!: (error: unknown) => void;
  const result = new Promise<T>((resolve, reject) => {
    resolveValue = resolve;
    rejectValue = reject;
  });

  const answer = (socket: Socket, reply: PushAnswer): void => {
    socket.end(encodeFrame(reply));
    socket.setTimeout(frameTimeoutMs, () => socket.destroy());
  };

  // Validation is synchronous, so pushes arriving together are simply handled in turn; the first
  // accepted one wins and any later one is told the enclave is configured already.
  const server = createServer(async (socket) => {
    socket.on('error', () => {});
    let refusal: string;
    try {
      const message = asPushMessage(await readFrame(socket, frameTimeoutMs));
      if (typeof message === 'string') throw new Error(message);
      if (settled) throw new Error('this enclave has its configuration already');
      const { value, digest } = options.accept(message.config, message.format);
      settled = true;
      server.close();
      answer(socket, { ok: true, digest });
      log({ level: 'info', event: 'config_received', digest });
      resolveValue(value);
      return;
    } catch (e) {
      refusal = e instanceof Error ? e.message : String(e);
    }
    log({ level: 'warn', event: 'config_refused', reason: refusal });
    if (!socket.destroyed) answer(socket, { ok: false, error: refusal });
  });

  const onAbort = () => {
    if (settled) return;
    settled = true;
    server.close();
    rejectValue(options.signal?.reason);
  };
  if (options.signal?.aborted) throw options.signal.reason;
  const bound = await listenOn(server, options.listen);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  log({ level: 'info', event: 'config_waiting', listen: formatAddress(bound) });
  options.onListening?.(bound);
  try {
    return await result;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
