import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from './request-log';
import { HttpError, notFound } from './http-error';

/** The last route: anything not matched is a JSON 404. */
export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(notFound('NOT_FOUND', `There is no ${req.path}; see GET /openapi.json for the routes.`));
}

/**
 * Renders every error as `{error, message, details?}`. Unexpected errors become a 500 that reveals
 * nothing about the internals; they are logged by name and stack, never with the request body.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Part of a streamed response is out; the only honest signal left is a broken connection.
      req.socket.destroy();
      return;
    }
    let error = err instanceof HttpError ? err : fromFrameworkError(err);
    if (!error) {
      log({ level: 'error', event: 'unhandled', method: req.method, path: req.path, error: describe(err) });
      error = new HttpError(500, 'INTERNAL', 'The server could not handle this request. Try again; if it persists, tell the operator.');
    }
    res.set(error.headers);
    res.status(error.status).json({ error: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) });
  };
}

/** Express and its router throw plain errors with `status` for bad URLs (e.g. malformed %-escapes). */
function fromFrameworkError(err: unknown): HttpError | undefined {
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'BAD_REQUEST', 'The request could not be understood; check its URL and headers.');
  }
  return undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : typeof err;
}
