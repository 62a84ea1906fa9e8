/** What every occurrence of a secret is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Finds the app's secret values in text it prints and replaces them. A value is looked for as
 * it is and as JSON writes it inside a string (quotes, backslashes, control characters escaped),
 * since apps often print JSON. Occurrences that overlap, of one secret or several, are replaced
 * as one span, so no part of any of them is left. Other encodings (base64, hex, a value split
 * over two writes with a newline between) are not recognised: the app must not print them.
 */
export class SecretRedactor {
  private readonly patterns: string[];

  constructor(values: Iterable<string>) {
    const patterns = new Set<string>();
    for (const value of values) {
      if (value === '') continue;
      patterns.add(value);
      patterns.add(JSON.stringify(value).slice(1, -1));
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
