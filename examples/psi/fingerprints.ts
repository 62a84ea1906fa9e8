import { randomBytes } from 'node:crypto';

const INITIAL_CAPACITY = 1 << 12;
const seeds = randomBytes(8);
const SEED_A = seeds.readInt32LE(0);
const SEED_B = seeds.readInt32LE(4);

/**
 * A set of 64-bit string fingerprints kept in two typed arrays, for items that only need to be
 * counted once: about 16 bytes per item instead of the ~60 a `Set<string>` costs, and no garbage.
 * Two different strings get the same fingerprint with probability about n²/2⁶⁵ (3·10⁻⁸ for a
 * million items); that could only make a count one too small. The hash is seeded per process, so
 * which items share a slot is not fixed by the items alone.
 */
export class FingerprintSet {
  private high = new Uint32Array(INITIAL_CAPACITY);
  private low = new Uint32Array(INITIAL_CAPACITY);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds the item; false when an item with its fingerprint was already there. */
  add(item: string): boolean {
    // Two independent multiply-xor lanes over the UTF-16 code units, then a full avalanche of each.
    let a = SEED_A ^ item.length;
    let b = SEED_B;
    for (let i = 0; i < item.length; i++) {
      const unit = item.charCodeAt(i);
      a = Math.imul(a ^ unit, 0x9e3779b1);
      b = Math.imul(b ^ unit, 0x85ebca77);
    }
    const high = avalanche(a ^ Math.imul(b, 0x27d4eb2f)) >>> 0;
    // A low word of 0 marks an empty slot.
    const low = avalanche(b ^ Math.imul(a, 0x165667b1)) >>> 0 || 1;
    return this.insert(high, low);
  }

  private insert(high: number, low: number): boolean {
    const mask = this.high.length - 1;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      const h = this.high[slot]!;
      const l = this.low[slot]!;
      if (l === 0) {
        this.high[slot] = high;
        this.low[slot] = low;
        if (++this.count * 2 > this.high.length) this.grow();
        return true;
      }
      if (h === high && l === low) return false;
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

/** The finaliser of MurmurHash3: every input bit affects every output bit. */
function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
