import type { Readable } from 'node:stream';
import type { LogEntry, LogLevel, Logger } from '../../contract/log';
import { appLogEntry } from './app-log-entry';
import type { SecretRedactor } from './secret-redactor';

/** Longest app output line passed on, in characters; the rest of a longer line is dropped. */
const MAX_APP_LINE_CHARS = 8 * 1024;

/**
 * Which of the app's outputs: its standard output and error, or the pipe on which the module host
 * writes the app's own log entries (`context.log`), one JSON line each.
 */
export type AppOutputStream = 'stdout' | 'stderr' | 'log';

/** How a plain line of each output is logged. */
const PLAIN_LINES: Record<AppOutputStream, { level: LogLevel; event: string }> = {
  stdout: { level: 'info', event: 'app.stdout' },
  stderr: { level: 'warn', event: 'app.stderr' },
  log: { level: 'info', event: 'app.log' },
};

export interface AppOutputOptions {
  /**
   * Which of the app's outputs this is: its lines are logged as `app.stdout` (info) or
   * `app.stderr` (warn); an entry on the `log` pipe as `app.log` at its own level (see
   * appLogEntry), and a line there that is no entry as `app.log` (info).
   */
  stream: AppOutputStream;
  log: Logger;
  /** The app's secrets, replaced in every line before it is logged. */
  secrets: SecretRedactor;
  maxLineChars?: number;
}

/**
 * Turns what the app writes to one of its outputs into log entries, one per line:
 * `{level, event: 'app.stdout' | 'app.stderr' | 'app.log', line}` (or `entry`), secrets replaced.
 * The app's lines are wrapped, never passed on as they are, so an app cannot write a line that
 * passes for the supervisor's. A line longer than `maxLineChars` is cut there (`truncated: true`)
 * and the rest of it dropped; the cut never falls inside a secret, and no more than the longest
 * secret beyond the limit is held while a line is incomplete, so memory stays bounded whatever the
 * app writes.
 */
export function followAppOutput(output: Readable, options: AppOutputOptions): void {
  const { stream, log, secrets } = options;
  const maxChars = options.maxLineChars ?? MAX_APP_LINE_CHARS;
  const { level, event } = PLAIN_LINES[stream];
  let pending = '';
  /** The start of the current line was passed on cut: the rest of it, up to its newline, is dropped. */
  let skipping = false;

  /** `text` as one logged line: cut at the limit but never inside a secret, secrets replaced. */
  const plainLine = (text: string): LogEntry => {
    const spans = secrets.spans(text);
    let end = text.length;
    let truncated = false;
    if (end > maxChars) {
      truncated = true;
      end = maxChars;
      // Spans are disjoint: at most one straddles the cut, which moves before it.
      const straddling = spans.find(([start, stop]) => start < end && stop > end);
      if (straddling) end = straddling[0];
    }
    const line = secrets.redact(
      text.slice(0, end),
      spans.filter(([, stop]) => stop <= end),
    );
    return { level, event, line: line.endsWith('\r') ? line.slice(0, -1) : line, ...(truncated && { truncated }) };
  };
  const emit = (text: string) => {
    const entry = stream === 'log' && text.length <= maxChars ? appLogEntry(text, secrets) : undefined;
    log(entry ?? plainLine(text));
  };

  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (skipping) skipping = false;
      else emit(line);
    }
    if (skipping) pending = '';
    else if (pending.length >= maxChars + secrets.longest) {
      // Every secret that starts before the cut ends within what is held: it is found whole.
      emit(pending);
      pending = '';
      skipping = true;
    }
  });
  output.on('end', () => {
    if (pending !== '' && !skipping) emit(pending);
  });
}
