import type { Request } from 'express';
import { consumeBody } from '../../express';
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
  const parser = new BomSkipper(formatParser(options, accept));
  // One socket wake-up can deliver dozens of chunks back to back (libuv reads a socket up to 32
  // times in a row), and parsing them all would hold the event loop; pausing hands it back.
  const pacer = new Pacer();
  return consumeBody(
    req,
    limit,
    (chunk) => {
      parser.write(chunk);
      return pacer.due(chunk.length) ? pacer.pause() : undefined;
    },
    { tooLarge: () => uploadTooLarge(limit), aborted: bodyAborted, end: () => parser.end() },
  );
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
