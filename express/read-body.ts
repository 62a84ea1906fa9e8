import type { Request } from 'express';
import { HttpError, tooLarge } from './http-error';

/**
 * Buffers a request body of at most `limitBytes`. A declared Content-Length over the limit is
 * refused before reading; a body that grows past it is refused as soon as it does.
 */
export function readBody(req: Request, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limitBytes) return Promise.reject(overLimit(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        req.resume();
        reject(overLimit(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new HttpError(400, 'BODY_ABORTED', 'The request body ended before it was complete.'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

function overLimit(limitBytes: number): HttpError {
  return tooLarge('BODY_TOO_LARGE', `The request body is larger than the limit of ${limitBytes} bytes.`);
}
