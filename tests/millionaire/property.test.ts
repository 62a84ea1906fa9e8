import fc from 'fast-check';
import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { freshId, openRound, result, submit } from './support';

let t: TestServer;
beforeAll(async () => {
  // Every generated case opens a round as alice, and all stay live for the run.
  t = await serve(fixtureApp((config) => (config.apps.millionaire = { role: 'bidder', maxPerCaller: 100_000 })).app);
});
afterAll(() => t.close());

/**
 * The reference: a decimal's JSON text (digits, optional fraction, optional exponent) as an exact
 * integer mantissa and a power of ten, compared by scaling both to the smaller power with BigInt.
 */
function scaled(text: string): { mantissa: bigint; exponent: number } {
  const m = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`reference cannot read ${text}`);
  const fraction = m[2] ?? '';
  return { mantissa: BigInt(m[1]! + fraction), exponent: Number(m[3] ?? 0) - fraction.length };
}

function compare(a: string, b: string): number {
  const x = scaled(a);
  const y = scaled(b);
  const e = Math.min(x.exponent, y.exponent);
  const xs = x.mantissa * 10n ** BigInt(x.exponent - e);
  const ys = y.mantissa * 10n ** BigInt(y.exponent - e);
  return xs === ys ? 0 : xs > ys ? 1 : -1;
}

function expectedRichest(entries: [string, string][]): string[] {
  let best: string[] = [];
  let top: string | undefined;
  for (const [name, text] of entries) {
    const order = top === undefined ? 1 : compare(text, top);
    if (order > 0) [top, best] = [text, [name]];
    else if (order === 0) best.push(name);
  }
  return best.sort();
}

const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const decimalText = fc.tuple(digits(1, 22), fc.option(digits(1, 25), { nil: undefined })).map(([i, f]) => (f === undefined ? i : `${i}.${f}`));

/** Any wealth as it is sent: a digit string or a JSON number. */
const anyWealth = fc.oneof(
  decimalText,
  fc.double({ min: 0, max: 1e20, noNaN: true, noDefaultInfinity: true }).filter((v) => v === 0 || v >= 1e-30),
  fc.maxSafeNat(),
);

/**
 * A wealth near a shared base, so that rounds are full of ties and of amounts that differ only
 * beyond a double's precision: the base itself, the base with padding zeros, the base as a JSON
 * number (a double near it), the base plus a tiny amount, or anything at all.
 */
const nearWealth = (base: string) =>
  fc.oneof(
    fc.constant(base),
    fc.constant(`00${base}${base.includes('.') ? '000' : '.000'}`),
    fc.constant(Number(base)),
    fc.constant(base.includes('.') ? `${base}1` : `${base}.0000000000000000000001`),
    anyWealth,
  );

const round = fc
  .tuple(fc.shuffledSubarray(['alice', 'bob', 'carol'], { minLength: 2 }), decimalText)
  .chain(([names, base]) => fc.tuple(fc.constant(names), fc.tuple(...names.map(() => nearWealth(base)))));

describe('the answer equals a direct exact comparison', () => {
  it('for random non-negative decimals, as strings and as numbers', async () => {
    await fc.assert(
      fc.asyncProperty(round, async ([names, amounts]) => {
        const id = await openRound(t, names, freshId('prop'));
        await Promise.all(names.map((name, i) => submit(t, id, name, amounts[i]).expect(201)));
        // What the server received is the JSON text of each amount, so that is what the reference reads.
        const expected = expectedRichest(names.map((name, i) => [name, JSON.stringify(amounts[i]).replace(/^"|"$/g, '')]));
        for (const name of names) expect((await result(t, id, name).expect(200)).body).toEqual({ richest: expected, jws: expect.any(String) });
      }),
      { numRuns: 150 },
    );
  });

  it('the reference itself agrees on hand-checked cases', () => {
    expect(compare('12345678901234567890.000000000000000001', '12345678901234567890')).toBe(1);
    expect(compare('1e-7', '0.0000001')).toBe(0);
    expect(compare('0007.50', '7.5')).toBe(0);
    expect(compare('1.5e+21', '1500000000000000000001')).toBe(-1);
  });
});
