import type { RequestHandler } from 'express';
import { type LogEntry, type Logger, jsonLinesLogger, silentLogger } from '../contract/log';

export { type LogEntry, type Logger, jsonLinesLogger, silentLogger };

/**
 * Logs method, path (without the query string, which may carry data), status and duration. Behind
 * Cloister's ingress an app needs none: the ingress logs a line for every request, with its caller,
 * sampled or turned off by the configuration's `logging.requests`, which lines an app writes itself
 * would escape. Use it for an app served some other way.
 */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      log({
        level: 'info',
        event: 'request',
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    next();
  };
}
