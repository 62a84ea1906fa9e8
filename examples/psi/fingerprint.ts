import { randomBytes } from 'node:crypto';

const seeds = randomBytes(8);
const SEED_A = seeds.readInt32LE(0);
const SEED_B = seeds.readInt32LE(4);

/**
 * A string's 64-bit fingerprint as two 32-bit words, computed into a reusable object so that
 * hashing a million items allocates nothing. The hash is seeded per process, so which items share
 * a fingerprint or a table slot is not fixed by the items alone. `low` is never 0: the tables use
 * 0 to mark an empty slot.
 *
 * @example
 * const fp = new Fingerprint();
 * table.add(item, fp.of(item));
 */
export class Fingerprint {
  high = 0;
  low = 0;

  of(item: string): this {
    // Two independent multiply-xor lanes over the UTF-16 code units, then a full avalanche of each.
    let a = SEED_A ^ item.length;
    let b = SEED_B;
    for (let i = 0; i < item.length; i++) {
      const unit = item.charCodeAt(i);
      a = Math.imul(a ^ unit, 0x9e3779b1);
      b = Math.imul(b ^ unit, 0x85ebca77);
    }
    this.high = avalanche(a ^ Math.imul(b, 0x27d4eb2f)) >>> 0;
    this.low = avalanche(b ^ Math.imul(a, 0x165667b1)) >>> 0 || 1;
    return this;
  }
}

/** The finaliser of MurmurHash3: every input bit affects every output bit. */
function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
