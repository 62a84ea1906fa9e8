import { Fingerprint } from './fingerprint';

const INITIAL_CAPACITY = 1 << 12;

/**
 * A set of 64-bit string fingerprints kept in two typed arrays, for items that only need to be
 * counted once: about 16 bytes per item instead of the ~60 a `Set<string>` costs, and no garbage.
 * Two different strings get the same fingerprint with probability about n²/2⁶⁵ (3·10⁻⁸ for a
 * million items); that could only make a count one too small.
 */
export class FingerprintSet {
  private high = new Uint32Array(INITIAL_CAPACITY);
  private low = new Uint32Array(INITIAL_CAPACITY);
  private count = 0;
  private readonly scratch = new Fingerprint();

  get size(): number {
    return this.count;
  }

  /** Adds the item (or its fingerprint, when already computed); false when its fingerprint was already there. */
  add(item: string, fingerprint: Fingerprint = this.scratch.of(item)): boolean {
    return this.insert(fingerprint.high, fingerprint.low);
  }

  private insert(high: number, low: number): boolean {
    const mask = this.high.length - 1;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      const l = this.low[slot]!;
      if (l === 0) {
        this.high[slot] = high;
        this.low[slot] = low;
        if (++this.count * 2 > this.high.length) this.grow();
        return true;
      }
      if (l === low && this.high[slot] === high) return false;
    }
  }

  private grow(): void {
    const { high, low } = this;
    this.high = new Uint32Array(high.length * 2);
    this.low = new Uint32Array(low.length * 2);
    this.count = 0;
    for (let slot = 0; slot < high.length; slot++) if (low[slot] !== 0) this.insert(high[slot]!, low[slot]!);
  }
}
