import type { RequestHandler } from 'express';
import { isSafeNumber, parse } from 'lossless-json';
import { HttpError, badRequest } from './http-error';
import { readBody } from './read-body';

/**
 * A JSON number that a double cannot hold exactly (`12345678901234567890.01`). Kept as its literal
 * text so that decimal fields (wealth, statistics) are compared and summed exactly; schemas that
 * want a plain `number` simply refuse it.
 */
export class ExactNumber {
  constructor(readonly text: string) {}
}

function parseNumber(text: string): number | ExactNumber {
  return isSafeNumber(text) ? Number(text) : new ExactNumber(text);
}

/**
 * Parses an `application/json` body into `req.body`, keeping every number exact (see ExactNumber),
 * refusing duplicate keys, and refusing bodies over `limitBytes` with 413 before buffering them.
 * A request without a body gets `req.body === undefined`, for the route's schema to judge.
 */
export function jsonBody(limitBytes: number): RequestHandler {
  return (req, _res, next) => {
    const type = req.is('application/json');
    // `curl -X POST` sends neither a body nor a type: that is no body, not an unsupported one.
    const untypedEmpty = !req.headers['content-type'] && (req.headers['content-length'] ?? '0') === '0' && !req.headers['transfer-encoding'];
    if (type === null || untypedEmpty) {
      req.body = undefined;
      next();
      return;
    }
    if (type === false) {
      next(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'));
      return;
    }
    readBody(req, limitBytes)
      .then((buffer) => {
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(buffer);
        } catch {
          throw badRequest('MALFORMED_JSON', 'The body is not valid UTF-8.');
        }
        try {
          req.body = parse(text, null, parseNumber);
        } catch (e) {
          // Only the position: the parser's own message can quote characters of a submitted secret.
          const at = /position (\d+)/.exec((e as Error).message)?.[1];
          throw badRequest('MALFORMED_JSON', `The body is not valid JSON${at ? ` (at character ${at})` : ''}.`);
        }
        next();
      })
      .catch(next);
  };
}
