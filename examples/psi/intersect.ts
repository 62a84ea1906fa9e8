import { Pacer } from './cooperative';
import { setTooLarge } from './errors';
import { FingerprintSet } from './fingerprints';

/**
 * One participant's upload as it streams in: removes duplicates, counts distinct items against the
 * limit, and keeps only what can still be in the intersection. With no `candidates` (nothing
 * committed yet) every distinct item is kept. Otherwise only items in `candidates` are kept as
 * strings; the others are remembered as fingerprints, just to be counted once each.
 */
export class UploadCollector {
  /** Distinct items of this upload that are in `candidates` (all of them without `candidates`). */
  readonly kept = new Set<string>();
  private readonly others = new FingerprintSet();

  /**
   * @param candidates the session's intersection so far; never modified (a commit replaces it),
   *   so it stays a valid snapshot for the whole upload.
   */
  constructor(
    private readonly candidates: ReadonlySet<string> | undefined,
    private readonly maxItems: number,
  ) {}

  /** Distinct items received so far. */
  get distinct(): number {
    return this.kept.size + this.others.size;
  }

  add(item: string): void {
    if (this.candidates === undefined || this.candidates.has(item)) {
      const before = this.kept.size;
      if (this.kept.add(item).size === before) return;
    } else if (!this.others.add(item)) return;
    if (this.distinct > this.maxItems) throw setTooLarge(this.maxItems);
  }
}

/** `a ∩ b` as a new set, probing the larger with the smaller and pausing between slices. */
export async function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Promise<Set<string>> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  const result = new Set<string>();
  const pacer = new Pacer();
  for (const item of small) {
    if (large.has(item)) result.add(item);
    if (pacer.due()) await pacer.pause();
  }
  return result;
}
