import type { Request } from 'express';
import { HttpError, tooLarge } from './http-error';

/** What `consumeBody` answers when a body is refused. */
export interface BodyRefusals {
  /** The body is, or declares to be, longer than the limit. */
  tooLarge: () => Error;
  /** The client went away before the body was complete. */
  aborted: () => Error;
}

/**
 * Streams a request body of at most `limitBytes` to `onChunk`, chunk by chunk: a declared
 * Content-Length over the limit is refused before reading, a body that grows past it as soon as
 * it does. `onChunk` may throw to refuse the body, or return a promise to pause reading until it
 * settles (to give the event loop back during long work). `end` runs once the whole body has
 * arrived. Rejects with the first refusal; the rest of the body is then discarded unread.
 *
 * @example
 * let lines = 0;
 * await consumeBody(req, 1 << 20, (chunk) => void (lines += chunk.toString().split('\n').length - 1));
 */
export function consumeBody(
  req: Request,
  limitBytes: number,
  onChunk: (chunk: Buffer) => void | Promise<void>,
  options: Partial<BodyRefusals> & { end?: () => void } = {},
): Promise<void> {
  const refusals: BodyRefusals = { tooLarge: options.tooLarge ?? (() => overLimit(limitBytes)), aborted: options.aborted ?? bodyAborted };
  if (Number(req.headers['content-length'] ?? NaN) > limitBytes) return Promise.reject(refusals.tooLarge());
  return new Promise((resolve, reject) => {
    let received = 0;
    const fail = (error: unknown) => {
      stop();
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      let pause: void | Promise<void>;
      try {
        if (received > limitBytes) throw refusals.tooLarge();
        pause = onChunk(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      if (pause !== undefined) {
        req.pause();
        pause.then(
          () => req.resume(),
          (error: unknown) => fail(error),
        );
      }
    };
    const onEnd = () => {
      try {
        options.end?.();
      } catch (error) {
        fail(error);
        return;
      }
      stop();
      resolve();
    };
    const onAbort = () => fail(refusals.aborted());
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
    req.on('close', onClose);
  });
}

/**
 * Buffers a request body of at most `limitBytes`. A declared Content-Length over the limit is
 * refused before reading; a body that grows past it is refused as soon as it does.
 */
export async function readBody(req: Request, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  await consumeBody(req, limitBytes, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  return Buffer.concat(chunks, size);
}

function overLimit(limitBytes: number): HttpError {
  return tooLarge('BODY_TOO_LARGE', `The request body is larger than the limit of ${limitBytes} bytes.`);
}

const bodyAborted = () => new HttpError(400, 'BODY_ABORTED', 'The request body ended before it was complete.');
