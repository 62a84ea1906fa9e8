/** What every occurrence of a secret is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Lines of a multi-line secret shorter than this are not looked for on their own: a line of a few
 * characters (a closing brace, a short word) would take ordinary text out of every log line.
 */
const MIN_SECRET_LINE_CHARS = 8;

/** A PEM armour line: public by definition, and found in every key's output. */
const PEM_ARMOUR = /^-----(BEGIN|END) [^-]+-----$/;

/**
 * Finds the app's secret values in text it prints and replaces them. A value is looked for as it
 * is, without its surrounding whitespace (a value encrypted with `echo … |` ends with a newline)
 * and, since the app's output is cut into lines before it is searched, line by line: each line of a
 * multi-line value (a PEM key's body) of at least {@link MIN_SECRET_LINE_CHARS} characters, PEM
 * armour lines excepted. Each form is looked for as JSON writes it inside a string too (quotes,
 * backslashes, control characters escaped), since apps often print JSON. Occurrences that overlap,
 * of one secret or several, are replaced as one span, so no part of any of them is left. Other
 * encodings (base64, hex, a value printed in pieces) are not recognised: the app must not print them.
 */
export class SecretRedactor {
  private readonly patterns: string[];

  constructor(values: Iterable<string>) {
    const patterns = new Set<string>();
    for (const value of values) {
      for (const form of formsOf(value)) {
        patterns.add(form);
        patterns.add(JSON.stringify(form).slice(1, -1));
      }
    }
    this.patterns = [...patterns];
  }

  /** The length of the longest pattern looked for (0 with no secrets). */
  get longest(): number {
    return this.patterns.reduce((longest, pattern) => Math.max(longest, pattern.length), 0);
  }

  /** The [start, end) spans of `text` that are (part of) a secret: sorted, disjoint, not touching. */
  spans(text: string): [number, number][] {
    if (this.patterns.length === 0) return [];
    const found: [number, number][] = [];
    for (const pattern of this.patterns) {
      // One character on, not the pattern's length: occurrences of one secret may overlap ("aa" in "aaa").
      for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) found.push([at, at + pattern.length]);
    }
    if (found.length < 2) return found;
    found.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [found[0]!];
    for (const span of found.slice(1)) {
      const last = merged[merged.length - 1]!;
      if (span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push(span);
    }
    return merged;
  }

  /** `text` with every span of a secret replaced by {@link REDACTED}. */
  redact(text: string, spans = this.spans(text)): string {
    if (spans.length === 0) return text;
    let out = '';
    let from = 0;
    for (const [start, end] of spans) {
      out += text.slice(from, start) + REDACTED;
      from = end;
    }
    return out + text.slice(from);
  }
}

/** The forms of `value` looked for in text: itself, trimmed, and its meaningful lines (none empty). */
function formsOf(value: string): string[] {
  const forms = [value, value.trim()];
  if (/[\r\n]/.test(value)) forms.push(...meaningfulLinesOf(value));
  return forms.filter((form) => form !== '');
}

/** The lines of a multi-line secret that are secret on their own: trimmed, long enough, not PEM armour. */
function meaningfulLinesOf(value: string): string[] {
  return value
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_SECRET_LINE_CHARS && !PEM_ARMOUR.test(line));
}
