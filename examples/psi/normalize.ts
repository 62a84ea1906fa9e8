/** How a session makes items that differ only in presentation compare equal. */
export interface NormalizeOptions {
  /** Remove leading and trailing white space (JavaScript `String.prototype.trim`: Unicode White_Space and line terminators). */
  trim: boolean;
  /**
   * Compare case-insensitively: Unicode NFC, then locale-independent `toLowerCase`. Canonically
   * equivalent spellings (precomposed `é` and `e` + combining accent) become equal, as do upper and
   * lower case; it is simple lower-casing, not full case folding (`ß` and `SS` stay different).
   */
  caseFold: boolean;
}

const caseFold = (item: string) => item.normalize('NFC').toLowerCase();

/**
 * The function applied to every submitted item of a session, before duplicates are removed and
 * before the intersection, so the result contains the normalised forms.
 */
export function normalizer(options: NormalizeOptions): (item: string) => string {
  if (options.trim && options.caseFold) return (item) => caseFold(item.trim());
  if (options.trim) return (item) => item.trim();
  if (options.caseFold) return caseFold;
  return (item) => item;
}
