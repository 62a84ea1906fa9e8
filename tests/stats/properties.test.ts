import fc from 'fast-check';
import type { TestServer } from '../../express/testing';
import { referenceAggregate } from './reference';
import { createComputation, extraAnalysts, result, statsServer, submit, submitRaw } from './support';

let t: TestServer;
const MAX_KEYS = 3;
beforeAll(async () => {
  ({ server: t } = await statsServer(5, { maxKeysPerParticipant: MAX_KEYS }));
});
afterAll(() => t.close());

const names = ['gina', 'hank', 'ivan', ...extraAnalysts(5)];

/**
 * Decimals of every size, and a pool of small values: written several ways, so that min and max
 * tie; and at 20 places, so that a mean or an even median falls exactly halfway at the 21st.
 */
const decimal = fc.oneof(
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(fc.bigInt({ min: 0n, max: 9n }), fc.bigInt({ min: 0n, max: 10n ** 40n })),
      fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 30 }),
    )
    .map(([negative, whole, fraction]) => `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`),
  fc.constantFrom('0', '-0', '0.0', '1', '1.0', '-1.50', '-1.5', '0.1', '0.10'),
  fc.constantFrom('0.00000000000000000001', '-0.00000000000000000003', '0.00000000000000000005', '7.00000000000000000001'),
);

describe('properties', () => {
  it('sum, mean, median, min and max equal a BigInt reference over the first quorum submissions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('sum', 'mean', 'median', 'min', 'max'),
        fc.shuffledSubarray(names, { minLength: 2 }),
        fc.integer({ min: 2, max: names.length }),
        fc.array(fc.tuple(decimal, fc.boolean()), { minLength: names.length, maxLength: names.length }),
        async (type, participants, wantedQuorum, values) => {
          const quorum = Math.min(wantedQuorum, participants.length);
          const name = await createComputation(t, type, participants, quorum);
          for (const [i, who] of participants.entries()) {
            const [text, asNumber] = values[i]!;
            const res = await submitRaw(t, who, name, `{"value": ${asNumber ? text : JSON.stringify(text)}}`);
            expect([res.status, res.body.error]).toEqual(i < quorum ? [201, undefined] : [409, 'COMPUTATION_CLOSED']);
          }
          const entries = participants.slice(0, quorum).map((who, i) => [who, values[i]![0]] as [string, string]);
          const { body } = await result(t, participants[0]!, name).expect(200);
          expect(body).toEqual({ result: referenceAggregate(type, entries), jws: expect.any(String) });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('count equals the number of true among the first quorum submissions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(names, { minLength: 2 }),
        fc.integer({ min: 2, max: names.length }),
        fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }),
        async (participants, wantedQuorum, votes) => {
          const quorum = Math.min(wantedQuorum, participants.length);
          const name = await createComputation(t, 'count', participants, quorum);
          for (const [i, who] of participants.entries()) {
            await submit(t, who, name, { value: votes[i] }).expect(i < quorum ? 201 : 409);
          }
          const expected = votes.slice(0, quorum).filter(Boolean).length;
          expect((await result(t, participants[0]!, name).expect(200)).body).toEqual({ result: expected, jws: expect.any(String) });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('keymatch answers and results equal a reference model', async () => {
    const key = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c', 'A', 'ä', 'a ', '🔑') },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }) },
    );
    const op = fc.record({ who: fc.nat(), key, message: fc.string({ unit: 'binary', maxLength: 20 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(names, { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 2, max: 5 }),
        fc.array(op, { maxLength: 25 }),
        async (participants, wantedQuorum, ops) => {
          const quorum = Math.min(wantedQuorum, participants.length);
          const name = await createComputation(t, 'keymatch', participants, quorum);
          const model = new Map<string, Map<string, string>>();
          const own = new Map<string, string[]>(participants.map((p) => [p, []]));
          for (const { who: index, key, message } of ops) {
            const who = participants[index % participants.length]!;
            const submitters = model.get(key) ?? new Map<string, string>();
            const mine = own.get(who)!;
            const expected = submitters.has(who)
              ? 'KEY_ALREADY_SUBMITTED'
              : mine.length >= MAX_KEYS
                ? 'KEY_LIMIT_REACHED'
                : submitters.size >= quorum
                  ? 'KEY_CLOSED'
                  : undefined;
            const res = await submit(t, who, name, { key, message });
            expect([res.status, res.body.error]).toEqual(expected ? [409, expected] : [201, undefined]);
            if (expected) continue;
            submitters.set(who, message);
            model.set(key, submitters);
            mine.push(key);
            expect(res.body.matched).toBe(submitters.size >= quorum);
          }
          const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
          for (const who of participants) {
            const expected = own
              .get(who)!
              .filter((k) => model.get(k)!.size >= quorum)
              .sort(byCodeUnits)
              .map((k) => ({
                key: k,
                messages: [...model.get(k)!].sort(([a], [b]) => byCodeUnits(a, b)).map(([from, message]) => ({ from, message })),
                jws: expect.any(String),
              }));
            expect((await result(t, who, name).expect(200)).body).toEqual({ result: expected });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
