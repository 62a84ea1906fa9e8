import fc from 'fast-check';
import { Fingerprint } from '../../examples/psi/fingerprint';
import { FingerprintSet } from '../../examples/psi/fingerprint-set';
import { ItemSet } from '../../examples/psi/item-set';
import { UploadCollector } from '../../examples/psi/upload-collector';
import { intersectionBody, sortStrings } from '../../examples/psi/result-body';
import { PsiSessions } from '../../examples/psi/sessions';
import { testResultSigner } from '../../express/testing';

const spec = (id: string) => ({ id, participants: ['a', 'b'], cardinalityOnly: false, normalize: { trim: false, caseFold: false } });

/** Counts how often the event loop got a turn while `work` ran. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await work();
  done = true;
  return turns;
}

describe('FingerprintSet', () => {
  it('counts distinct strings exactly for 200,000 items with repeats, through many resizes', () => {
    const fingerprints = new FingerprintSet();
    const reference = new Set<string>();
    let disagreements = 0;
    for (let i = 0; i < 300_000; i++) {
      const item = `k${(i * 7919) % 200_000}`;
      if (fingerprints.add(item) === reference.has(item)) disagreements++;
      reference.add(item);
    }
    expect(disagreements).toBe(0);
    expect(fingerprints.size).toBe(200_000);
  });

  it('tells apart strings that differ by order, length or astral characters', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary' }), { maxLength: 200 }), (items) => {
        const fingerprints = new FingerprintSet();
        for (const item of items) expect(fingerprints.add(item)).toBe(true);
        for (const item of items) expect(fingerprints.add(item)).toBe(false);
      }),
    );
  });
});

const itemSet = (items: Iterable<string>) => {
  const set = new ItemSet();
  for (const item of items) set.add(item);
  return set;
};

/** A fingerprint fixed by hand, to make different strings collide. */
const fixed = (high: number, low: number) => Object.assign(new Fingerprint(), { high, low });

describe('ItemSet', () => {
  it('behaves like a Set<string>: add, has, size, insertion order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 6 }), { maxLength: 300 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 6 })),
        (added, probed) => {
          const set = new ItemSet();
          const reference = new Set<string>();
          for (const item of added) {
            expect(set.add(item)).toBe(!reference.has(item));
            reference.add(item);
          }
          for (const item of [...probed, ...added]) expect(set.has(item)).toBe(reference.has(item));
          expect(set.size).toBe(reference.size);
          expect([...set]).toEqual([...reference]);
        },
      ),
    );
  });

  it('stays exact for 200,000 items with repeats, through many resizes, and intersects like a filter', async () => {
    const a = new ItemSet();
    for (let i = 0; i < 300_000; i++) a.add(`k${(i * 7919) % 200_000}`);
    expect(a.size).toBe(200_000);
    const b = itemSet(Array.from({ length: 100_000 }, (_, i) => `k${i * 3}`));
    const common = await a.intersect(b);
    expect(common.size).toBe(66_667);
    for (const item of common) expect(Number(item.slice(1)) % 3 === 0 && Number(item.slice(1)) < 200_000).toBe(true);
  });

  it('tells apart different strings whose fingerprints are equal, also when intersecting', async () => {
    const same = fixed(7, 9);
    const a = new ItemSet();
    expect(a.add('x', same)).toBe(true);
    expect(a.add('y', same)).toBe(true);
    expect(a.add('x', same)).toBe(false);
    expect(a.has('z', same)).toBe(false);
    expect(a.has('y', same)).toBe(true);
    expect(a.size).toBe(2);
    const b = new ItemSet();
    b.add('y', same);
    b.add('z', same);
    b.add('w', fixed(8, 9));
    expect([...(await a.intersect(b))]).toEqual(['y']);
    expect([...(await b.intersect(a))]).toEqual(['y']);
  });

  it('counts two bytes a character and a fixed overhead per item', () => {
    expect(itemSet(['ab', 'ab', 'cde']).bytes).toBe(5 * 2 + 2 * 48);
  });

  it('gives the event loop turns while intersecting large sets', async () => {
    const a = itemSet(Array.from({ length: 400_000 }, (_, i) => `${i}`));
    const b = itemSet(Array.from({ length: 400_000 }, (_, i) => `${i * 2}`));
    let common: ItemSet | undefined;
    const turns = await turnsDuring(async () => {
      common = await a.intersect(b);
    });
    expect(common!.size).toBe(200_000);
    expect(turns).toBeGreaterThan(1);
  });
});

describe('UploadCollector', () => {
  it('keeps only candidates but counts every distinct item, and stops past the limit', () => {
    const collector = new UploadCollector(itemSet(['a', 'b']), 4);
    for (const item of ['a', 'x', 'a', 'x', 'y']) collector.add(item);
    expect([...collector.kept]).toEqual(['a']);
    expect(collector.distinct).toBe(3);
    collector.add('b');
    expect(collector.distinct).toBe(4);
    expect(() => collector.add('c')).toThrow(expect.objectContaining({ code: 'SET_TOO_LARGE' }));
  });
});

describe('sortStrings and intersect', () => {
  it('sort like Array.prototype.sort, across many runs and merges', async () => {
    // Tens of thousands of distinct strings (a fast-check array that size would be slow to build):
    // a seeded generator mixing ASCII, BMP and astral characters so UTF-16 order matters.
    const alphabet = ['a', 'B', 'é', '\uffee', '😀', '𝒳', ' ', '0'];
    const strings = (n: number, seed: number) => {
      const out = new Set<string>();
      let x = seed | 1;
      while (out.size < n) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        let s = '';
        for (let k = 0; k < 1 + (x % 6); k++) s += alphabet[(x >>> (3 * k + 5)) % alphabet.length];
        out.add(s + (out.size % 97));
      }
      return [...out];
    };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30_000 }), fc.integer(), async (n, seed) => {
        const items = strings(n, seed);
        expect(await sortStrings([...items])).toEqual([...items].sort());
      }),
      { numRuns: 12 },
    );
  });

  it('intersect like a filter, whichever set is larger', async () => {
    const a = itemSet(Array.from({ length: 5000 }, (_, i) => `${i * 2}`));
    const b = itemSet(Array.from({ length: 900 }, (_, i) => `${i * 3}`));
    const expected = [...b].filter((x) => a.has(x));
    expect([...(await a.intersect(b))].sort()).toEqual(expected.sort());
    expect([...(await b.intersect(a))].sort()).toEqual(expected.sort());
  });

  it('give the event loop turns while building a large result', async () => {
    const items = new Set(Array.from({ length: 300_000 }, (_, i) => `${(i * 104729) % 1_000_003}@x`));
    let body: Buffer | undefined;
    const turns = await turnsDuring(async () => {
      body = await intersectionBody(items);
    });
    expect(JSON.parse(body!.toString())).toEqual({ intersection: [...items].sort() });
    expect(turns).toBeGreaterThan(3);
  });
});

describe('PsiSessions', () => {
  const lifecycle = (maxLive: number) => ({ ttlMs: 60_000, maxLive, maxPerCaller: maxLive, maxBytes: 1 << 30, maxBytesPerCaller: 1 << 30 });

  it('refuses sessions past its limit with 429 TOO_MANY_SESSIONS and Retry-After', () => {
    const sessions = new PsiSessions({ lifecycle: lifecycle(2), maxItems: 10 }, testResultSigner());
    sessions.create(spec('one'), 'dave');
    sessions.create(spec('two'), 'erin');
    expect(() => sessions.create(spec('three'), 'frank')).toThrow(
      expect.objectContaining({ status: 429, code: 'TOO_MANY_SESSIONS', headers: { 'Retry-After': '60' } }),
    );
    expect(() => sessions.get('three')).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('forgets an abandoned upload entirely', async () => {
    const { session } = new PsiSessions({ lifecycle: lifecycle(1), maxItems: 10 }, testResultSigner()).create(spec('s'), 'dave');
    const first = session.beginUpload('a');
    first.add('x');
    first.abandon();
    const again = session.beginUpload('a');
    again.add('y');
    expect(await again.commit()).toEqual({ received: 1, missing: ['b'] });
    const b = session.beginUpload('b');
    b.add('x');
    b.add('y');
    await b.commit();
    const outcome = await session.result('a');
    expect('body' in outcome && JSON.parse(outcome.body.toString())).toEqual({ intersection: ['y'], jws: expect.any(String) });
  });
});
