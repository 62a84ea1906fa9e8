import pino from 'pino';
import { redactSecretFields } from './secret-fields';

/** How serious a log line is; a logger drops lines below its minimum level. */
export type LogLevel = 'info' | 'warn' | 'error';

/** The levels from least to most serious. */
const LOG_LEVELS: readonly LogLevel[] = ['info', 'warn', 'error'];

/**
 * A value a log line carries. Nested objects and arrays are for entries that hold another's (an
 * app's own entry inside the supervisor's `app.log` line), not for dumping objects.
 */
export type LogValue = string | number | boolean | null | undefined | readonly LogValue[] | { readonly [field: string]: LogValue };

/**
 * One structured log line, of the apps and of the enclave's and parent's processes alike. Only
 * metadata goes here (method, path without query, status, timing, event names, caller name, error
 * codes): never a request body, a query string, a header value, a submitted value or a key
 * (DESIGN.md, invariant 5).
 */
export interface LogEntry {
  level: LogLevel;
  event: string;
  [field: string]: LogValue;
}

export type Logger = (entry: LogEntry) => void;

/** Whether `level` is one of the levels a log line may have. */
export function isLogLevel(level: unknown): level is LogLevel {
  return LOG_LEVELS.includes(level as LogLevel);
}

export interface LoggerOptions {
  /** Lines below this level are dropped; default `info` (everything). */
  level?: LogLevel;
  /** Receives each line, JSON with its newline; default: standard output. */
  write?: (line: string) => void;
}

/**
 * A logger writing each entry as one JSON line with pino: `{"level":"info","time":"<ISO>",
 * "event":…, …fields}`. Fields named like secrets, at any depth, are replaced by `[REDACTED]`
 * whatever a call site passes (see secret-fields.ts): a second line of defence behind the rule
 * above, for a field added carelessly. pino's own `redact` takes exact paths only, so this is done
 * where pino hands over each entry's fields.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const logger = pino(
    {
      level: options.level ?? 'info',
      // No pid or hostname: a line says what happened, the process that runs it is the sink's business.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redactSecretFields },
    },
    { write },
  );
  return ({ level, ...fields }) => logger[level](fields);
}

/** The JSON line (with its newline) that a logger made by {@link createLogger} writes for `entry`. */
export function formatLogLine(entry: LogEntry): string {
  formatting(entry);
  return formatted;
}
// pino writes synchronously to a destination whose write is a plain function: the line is there on return.
let formatted = '';
const formatting = createLogger({ write: (line) => (formatted = line) });

/** A logger passing on to `log` only the entries at `level` or above. */
export function withMinimumLevel(level: LogLevel, log: Logger): Logger {
  const minimum = LOG_LEVELS.indexOf(level);
  if (minimum === 0) return log;
  return (entry) => {
    if (LOG_LEVELS.indexOf(entry.level) >= minimum) log(entry);
  };
}

/** Writes each entry as one JSON line on stdout. */
export const jsonLinesLogger: Logger = createLogger();

export const silentLogger: Logger = () => {};
