import type { RequestHandler } from 'express';

/**
 * One structured log line. Only metadata goes here (method, path, status, timing, event names):
 * never a request body, a query string, a submitted value or a key (DESIGN.md, invariant 5).
 */
export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  event: string;
  [field: string]: string | number | boolean | undefined;
}

export type Logger = (entry: LogEntry) => void;

/** Writes each entry as one JSON line on stdout. */
export const jsonLinesLogger: Logger = (entry) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};

export const silentLogger: Logger = () => {};

/** Logs method, path (without the query string, which may carry data), status and duration. */
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
