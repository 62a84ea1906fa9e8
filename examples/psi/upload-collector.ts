import { setTooLarge } from './errors';
import { Fingerprint } from './fingerprint';
import { FingerprintSet } from './fingerprint-set';
import { ItemSet } from './item-set';

/**
 * One participant's upload as it streams in: removes duplicates, counts distinct items against the
 * limit, and keeps only what can still be in the intersection. With no `candidates` (nothing
 * committed yet) every distinct item is kept. Otherwise only items in `candidates` are kept as
 * strings; the others are remembered as fingerprints, just to be counted once each. Each item is
 * hashed once for all of that.
 */
export class UploadCollector {
  /** Distinct items of this upload that are in `candidates` (all of them without `candidates`). */
  readonly kept = new ItemSet();
  private readonly others = new FingerprintSet();
  private readonly fingerprint = new Fingerprint();

  /**
   * @param candidates the session's intersection so far; never modified (a commit replaces it),
   *   so it stays a valid snapshot for the whole upload.
   */
  constructor(
    private readonly candidates: ItemSet | undefined,
    private readonly maxItems: number,
  ) {}

  /** Distinct items received so far. */
  get distinct(): number {
    return this.kept.size + this.others.size;
  }

  add(item: string): void {
    const fingerprint = this.fingerprint.of(item);
    const added =
      this.candidates === undefined || this.candidates.has(item, fingerprint) ? this.kept.add(item, fingerprint) : this.others.add(item, fingerprint);
    if (added && this.distinct > this.maxItems) throw setTooLarge(this.maxItems);
  }
}
