import { escapeControls } from '../contract/quote-input';

/**
 * Writing what others wrote (a signed result, a refusal that quotes its input) to a terminal:
 * every control character is escaped, so it can neither redraw the screen nor fake a line of the
 * report; long text is cut.
 */

/** The most of a message (a refusal, bad input) written: they quote their input briefly already; this bounds one that did not. */
export const MAX_MESSAGE_CHARS = 2000;

/** `text` with its controls escaped, line breaks included, and cut after `maxChars` characters. */
export function terminalText(text: string, maxChars = Infinity): string {
  return escapeControls(text.length > maxChars ? `${text.slice(0, maxChars)}…` : text);
}

/**
 * `value` as JSON for a terminal: `JSON.stringify` escapes C0 controls in strings but leaves others
 * (C1, bidirectional overrides) raw. Escaping each line keeps the layout and the meaning, since
 * JSON text has such characters only inside strings, where `\uXXXX` stands for the same one.
 * `value` must not be nested deeper than the stack allows (see `nestedDeeperThan`).
 */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent)
    .split('\n')
    .map((line) => escapeControls(line))
    .join('\n');
}
