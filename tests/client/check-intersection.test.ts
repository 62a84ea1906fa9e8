import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { IntersectionHash, ResultError, type SignedResultPayload, checkIntersection } from '../../client';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** A verified PSI result signing `intersection`, as `verifyResult` returns it. */
const signing = (intersection: string[]) => ({
  payload: { result: { size: intersection.length, intersectionSha256: sha256(JSON.stringify({ intersection })) } } as SignedResultPayload,
});
const refusal = (run: () => void) => {
  try {
    run();
    return 'ACCEPTED';
  } catch (e) {
    return e instanceof ResultError ? `${e.code}: ${e.message}` : `not a ResultError: ${String(e)}`;
  }
};
/** Any string of UTF-16 code units: lone surrogates and controls too, which JSON.stringify escapes. */
const anyItem = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)), maxLength: 30 });

describe('IntersectionHash', () => {
  it('is the SHA-256 of JSON.stringify({ intersection }), item by item, for any list of strings (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyItem, fc.string({ unit: 'grapheme' }))), (intersection) => {
        const hash = new IntersectionHash();
        for (const item of intersection) hash.add(item);
        expect(hash.hex()).toBe(sha256(JSON.stringify({ intersection })));
        expect(hash.items).toBe(intersection.length);
      }),
      { numRuns: 300 },
    );
  });

  it('hashes a list far longer than one slice as one text', () => {
    const intersection = Array.from({ length: 50_000 }, (_, i) => `item-${i}-${'é'.repeat(i % 7)}`);
    const hash = new IntersectionHash();
    for (const item of intersection) hash.add(item);
    expect(hash.hex()).toBe(sha256(JSON.stringify({ intersection })));
    expect(hash.hex()).toBe(hash.hex());
    expect(() => hash.add('late')).toThrow(/already hashed/);
  });
});

describe('checkIntersection', () => {
  const intersection = ['fig', 'pear', 'quince'];
  const verified = signing(intersection);

  it('accepts the list the enclave signed, as parsed or hashed as it streamed', () => {
    expect(refusal(() => checkIntersection(verified, [...intersection]))).toBe('ACCEPTED');
    const hash = new IntersectionHash();
    for (const item of intersection) hash.add(item);
    expect(refusal(() => checkIntersection(verified, hash))).toBe('ACCEPTED');
  });

  it.each<[string, unknown]>([
    ['an item changed', ['fig', 'pear', 'quincE']],
    ['an item added', [...intersection, 'mallory']],
    ['an item left out', ['fig', 'pear']],
    ['the order changed', ['pear', 'fig', 'quince']],
    ['an empty list', []],
  ])('refuses the list with %s: INTERSECTION_MISMATCH, saying it is not the one the enclave signed', (_, list) => {
    expect(refusal(() => checkIntersection(verified, list))).toMatch(
      /^INTERSECTION_MISMATCH: The intersection list beside the signed result is not the one the enclave signed/,
    );
  });

  it.each<[string, unknown]>([
    ['no list', { fig: 1 }],
    ['null', null],
    ['items that are no strings', ['fig', 'pear', 7]],
    ['an item nested deeper than any stack', ['fig', JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)]],
  ])('refuses %s: INTERSECTION_MISMATCH', (_, list) => {
    expect(refusal(() => checkIntersection(verified, list))).toMatch(
      /^INTERSECTION_MISMATCH: The intersection beside the signed result (is not a list|has items that are not strings)/,
    );
  });

  it('refuses any list beside a result that signs no intersectionSha256: it vouches for none', () => {
    for (const result of [{ size: 3 }, '6.5', null, { intersectionSha256: 5 }]) {
      const payload = { result } as SignedResultPayload;
      expect(refusal(() => checkIntersection({ payload }, intersection))).toMatch(/^INTERSECTION_MISMATCH: This signed result holds no intersectionSha256/);
    }
  });
});
