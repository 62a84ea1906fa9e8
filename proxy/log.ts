/**
 * One structured log line of the proxies. Only metadata goes here (method, path without query,
 * status, timing, caller name, error codes): never a body, a query string, a header value or a
 * key (DESIGN.md, invariant 5).
 */
export interface ProxyLogEntry {
  level: 'info' | 'warn' | 'error';
  event: string;
  [field: string]: string | number | boolean | undefined;
}

export type ProxyLogger = (entry: ProxyLogEntry) => void;

/** Writes each entry as one JSON line on stdout, the format the apps log in too. */
export const jsonLinesLog: ProxyLogger = (entry) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};
