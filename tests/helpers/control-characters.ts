/**
 * Whether `text` holds anything a terminal obeys rather than shows (C0 and C1 controls, DEL, line
 * and paragraph separators, bidirectional overrides) or a lone surrogate. Written apart from
 * `escapeControls`, which the tests check against it.
 */
export function hasControlCharacters(text: string): boolean {
  return [...text].some((c) => isControl(c.codePointAt(0)!));
}

const isControl = (code: number) =>
  code < 0x20 ||
  (code >= 0x7f && code <= 0x9f) ||
  [0x61c, 0x200e, 0x200f, 0x2028, 0x2029].includes(code) ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069) ||
  (code >= 0xd800 && code <= 0xdfff);
