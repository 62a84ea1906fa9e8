/**
 * How a message shows input it refuses. That input may be anything a stranger sent: megabytes of
 * text, terminal escape codes that redraw the screen, an object nested deeper than any stack. So a
 * message shows a short, escaped prefix of a string and only the type of anything else: it stays
 * one readable line, draws nothing on a terminal, and cannot throw while it is being written.
 */

/**
 * Characters that move the cursor, hide or reorder text, or break a line on a terminal: C0 and C1
 * controls, DEL, line and paragraph separators, bidirectional overrides, and lone surrogates.
 */
const CONTROLS =
  // eslint-disable-next-line no-control-regex -- matching control characters is what this is for
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** How many characters of a string `quoteInput` shows by default. */
const SHOWN_CHARS = 40;

/**
 * `text` with every control character (see above) written as a `\uXXXX` escape, so that writing it
 * to a terminal shows it rather than obeys it.
 *
 * @example
 * escapeControls('\u001b[2Jok\n'); // '\\u001b[2Jok\\u000a'
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A short, safe description of `value` for a message: a string quoted, escaped, and cut after
 * `maxChars` characters (saying how long it was); anything else by its type alone, since writing
 * an object out could be as long, or as deep, as its sender made it.
 *
 * @example
 * quoteInput('JWT');            // '"JWT"'
 * quoteInput('x'.repeat(100));  // '"xxxx…" (100 characters)'
 * quoteInput([[[1]]]);          // 'an array'
 */
export function quoteInput(value: unknown, maxChars = SHOWN_CHARS): string {
  if (typeof value === 'string') {
    const cut = value.length > maxChars;
    const quoted = `"${escapeControls((cut ? value.slice(0, maxChars) : value).replace(/["\\]/g, '\\$&'))}${cut ? '…' : ''}"`;
    return cut ? `${quoted} (${value.length} characters)` : quoted;
  }
  if (value === null || value === undefined || typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
