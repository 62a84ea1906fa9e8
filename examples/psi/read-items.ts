import type { Request } from 'express';
import { Pacer } from './cooperative';
import { bodyAborted, uploadTooLarge } from './errors';
import { BomSkipper } from './formats/bom';
import { CsvParser, locateRow } from './formats/csv';
import { type ItemParser, itemSink } from './formats/item-sink';
import { JsonArrayParser, locateIndex } from './formats/json-array';
import { LineParser, locateLine } from './formats/lines';

/** The upload formats, by the media type that selects them. */
export const SET_MEDIA_TYPES = { 'application/json': 'json', 'text/plain': 'lines', 'text/csv': 'csv' } as const;
export type SetFormat = (typeof SET_MEDIA_TYPES)[keyof typeof SET_MEDIA_TYPES];

export interface ReadItemsOptions {
  format: SetFormat;
  /** CSV only: the first record is a header, not an item. */
  csvHeader: boolean;
  maxItemBytes: number;
  /** The body may not be longer than this, whatever its format: duplicates and other CSV columns count too. */
  maxUploadBytes: number;
  normalize: (item: string) => string;
}

/**
 * Streams the request body through the parser of its format and hands every normalised, non-empty
 * item to `accept` as soon as its bytes have arrived; nothing but the current item is buffered.
 * Resolves once the body has ended and every item was accepted. Rejects with an HttpError at the
 * first problem (a bad item, a limit, an error thrown by `accept`, or the client going away), after
 * which the rest of the body is discarded unread.
 */
export function readItems(req: Request, options: ReadItemsOptions, accept: (item: string) => void): Promise<void> {
  const limit = options.maxUploadBytes;
  if (Number(req.headers['content-length'] ?? NaN) > limit) return Promise.reject(uploadTooLarge(limit));
  const parser = new BomSkipper(formatParser(options, accept));

  return new Promise((resolve, reject) => {
    let received = 0;
    // One socket wake-up can deliver dozens of chunks back to back (libuv reads a socket up to 32
    // times in a row), and parsing them all would hold the event loop; pausing hands it back.
    const pacer = new Pacer();
    const fail = (error: unknown) => {
      stop();
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      try {
        if (received > limit) throw uploadTooLarge(limit);
        parser.write(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      if (pacer.due(chunk.length)) {
        req.pause();
        void pacer.pause().then(() => req.resume());
      }
    };
    const onEnd = () => {
      try {
        parser.end();
      } catch (error) {
        fail(error);
        return;
      }
      stop();
      resolve();
    };
    const onAbort = () => fail(bodyAborted());
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

function formatParser(options: ReadItemsOptions, accept: (item: string) => void): ItemParser {
  const { maxItemBytes, normalize } = options;
  switch (options.format) {
    case 'json':
      return new JsonArrayParser(maxItemBytes, itemSink(locateIndex, maxItemBytes, normalize, accept));
    case 'lines':
      return new LineParser(maxItemBytes, itemSink(locateLine, maxItemBytes, normalize, accept));
    case 'csv':
      return new CsvParser(maxItemBytes, options.csvHeader, itemSink(locateRow, maxItemBytes, normalize, accept));
  }
}
