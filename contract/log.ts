import pino from 'pino';

/** How serious a log line is; a logger drops lines below its minimum level. */
export type LogLevel = 'info' | 'warn' | 'error';

/** The levels from least to most serious. */
const LOG_LEVELS: readonly LogLevel[] = ['info', 'warn', 'error'];

/**
 * One structured log line, of the apps and of the enclave's and parent's processes alike. Only
 * metadata goes here (method, path without query, status, timing, event names, caller name, error
 * codes): never a request body, a query string, a header value, a submitted value or a key
 * (DESIGN.md, invariant 5).
 */
export interface LogEntry {
  level: LogLevel;
  event: string;
  [field: string]: string | number | boolean | undefined;
}

export type Logger = (entry: LogEntry) => void;

/**
 * Field names whose value is replaced by `[REDACTED]` whatever a call site passes: a second line
 * of defence behind the rule above, for a field added carelessly. `key` is not among them: the
 * ingress logs public key fingerprints (`sha256:…`) under it, which identify and reveal nothing.
 */
export const REDACTED_FIELDS: readonly string[] = [
  'password',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'apiKey',
  'api_key',
  'privateKey',
  'private_key',
  'secretAccessKey',
  'credentials',
  'authorization',
  'cookie',
  'plaintext',
  'body',
];

export interface LoggerOptions {
  /** Lines below this level are dropped; default `info` (everything). */
  level?: LogLevel;
  /** Receives each line, JSON with its newline; default: standard output. */
  write?: (line: string) => void;
}

/**
 * A logger writing each entry as one JSON line with pino: `{"level":"info","time":"<ISO>",
 * "event":…, …fields}`, fields named in {@link REDACTED_FIELDS} replaced by `[REDACTED]`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const logger = pino(
    {
      level: options.level ?? 'info',
      // No pid or hostname: a line says what happened, the process that runs it is the sink's business.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_FIELDS], censor: '[REDACTED]' },
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
