/**
 * One structured log line, of the apps and of the enclave's and parent's processes alike. Only
 * metadata goes here (method, path without query, status, timing, event names, caller name, error
 * codes): never a request body, a query string, a header value, a submitted value or a key
 * (DESIGN.md, invariant 5).
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
