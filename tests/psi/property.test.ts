import fc from 'fast-check';
import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { PARTY, type Format, createSession, submit } from './psi-helpers';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

// Few, clashing pieces, so that sets overlap and normalisation matters: case, a decomposed accent
// ("e" + U+0301 is "é" under NFC), surrounding white space, CSV specials, an astral character.
const piece = fc.constantFrom('a', 'A', 'b', 'é', 'É', 'e\u0301', ' ', '\t', ',', '"', '😀', 'ß', 'SS');
const item = fc.array(piece, { maxLength: 3 }).map((pieces) => pieces.join(''));
const set = fc.array(item, { maxLength: 25 });
const format = fc.constantFrom<Format>('json', 'text', 'csv');
const options = fc.record({ trim: fc.boolean(), caseFold: fc.boolean() });

/** The documented normalisation, written out independently of the app's. */
function reference(sets: string[][], { trim, caseFold }: { trim: boolean; caseFold: boolean }): string[] {
  const normalize = (s: string) => {
    const trimmed = trim ? s.trim() : s;
    return caseFold ? trimmed.normalize('NFC').toLowerCase() : trimmed;
  };
  const normalized = sets.map((s) => new Set(s.map(normalize).filter((x) => x !== '')));
  return [...normalized[0]!].filter((x) => normalized.every((s) => s.has(x))).sort();
}

describe('the PSI result', () => {
  it('equals a reference intersection for random sets, formats and normalisations', async () => {
    const parties = ['dave', 'erin', 'frank'];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 3 }),
        fc.array(fc.tuple(set, format), { minLength: 3, maxLength: 3 }),
        options,
        fc.boolean(),
        async (n, submissions, normalize, cardinalityOnly) => {
          const names = parties.slice(0, n);
          const id = await createSession(t, names, { normalize, cardinalityOnly });
          const receipts = await Promise.all(names.map((name, i) => submit(t, name, id, ...submissions[i]!).expect(201)));
          names.forEach((_, i) => {
            expect(receipts[i]!.body.received).toBe(reference([submissions[i]![0]], normalize).length);
          });
          const expected = reference(
            submissions.slice(0, n).map(([s]) => s),
            normalize,
          );
          const res = await t.as(names[0]!, PARTY).get(`/psi/sessions/${id}/result`).expect(200);
          expect(res.body).toEqual({ ...(cardinalityOnly ? { size: expected.length } : { intersection: expected }), jws: expect.any(String) });
        },
      ),
      { numRuns: 60 },
    );
  });
});
