import type { Readable } from 'node:stream';
import type { Logger } from '../../contract/log';
import type { SecretRedactor } from './secret-redactor';

/** Longest app output line passed on, in characters; the rest of a longer line is dropped. */
const MAX_APP_LINE_CHARS = 8 * 1024;

export interface AppOutputOptions {
  /** Which of the app's outputs this is: its lines are logged as `app.stdout` (info) or `app.stderr` (warn). */
  stream: 'stdout' | 'stderr';
  log: Logger;
  /** The app's secrets, replaced in every line before it is logged. */
  secrets: SecretRedactor;
  maxLineChars?: number;
}

/**
 * Turns what the app writes to one of its outputs into log entries, one per line:
 * `{level, event: 'app.stdout' | 'app.stderr', line}`, secrets replaced. The app's lines are
 * wrapped, never passed on as they are, so an app cannot write a line that passes for the
 * supervisor's. A line longer than `maxLineChars` is cut there (`truncated: true`) and the rest of
 * it dropped; the cut never falls inside a secret, and no more than the longest secret beyond the
 * limit is held while a line is incomplete, so memory stays bounded whatever the app writes.
 */
export function followAppOutput(output: Readable, options: AppOutputOptions): void {
  const { stream, log, secrets } = options;
  const maxChars = options.maxLineChars ?? MAX_APP_LINE_CHARS;
  const level = stream === 'stdout' ? 'info' : 'warn';
  const event = `app.${stream}`;
  let pending = '';
  /** The start of the current line was passed on cut: the rest of it, up to its newline, is dropped. */
  let skipping = false;

  const emit = (text: string) => {
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
    log({ level, event, line: line.endsWith('\r') ? line.slice(0, -1) : line, ...(truncated && { truncated }) });
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
