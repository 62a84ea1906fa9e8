import { createHash } from 'node:crypto';
import { EmbeddedJWK, compactVerify } from 'jose';
import { checkIntersection } from '../../client';
import type { SignedResultPayload } from '../../contract/signed-result';
import { type TestServer, serve } from '../../express/testing';
import { fixtureApp } from '../helpers/fixtures';
import { PARTY, createSession, submit as submitSet } from '../psi/psi-helpers';
import * as millionaire from '../millionaire/support';
import * as stats from '../stats/support';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

/** The payload of a JWS whose signature verifies under the key in its own header. */
async function signedPayload(jws: string): Promise<SignedResultPayload> {
  const { payload, protectedHeader } = await compactVerify(jws, EmbeddedJWK, { algorithms: ['ES384'] });
  expect(protectedHeader.typ).toBe('cloister-result+jws');
  return JSON.parse(Buffer.from(payload).toString()) as SignedResultPayload;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('every final result an example serves is signed once and served to every reader', () => {
  it('millionaire: the signed result is the answer every participant reads', async () => {
    const round = await millionaire.openRound(t, ['alice', 'bob', 'carol']);
    for (const [name, wealth] of [
      ['alice', '10'],
      ['bob', '30'],
      ['carol', '30'],
    ] as const) {
      await millionaire.submit(t, round, name, wealth).expect(201);
    }
    const bodies = await Promise.all(['alice', 'bob', 'carol', 'alice'].map(async (name) => (await millionaire.result(t, round, name).expect(200)).body));
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    const payload = await signedPayload(bodies[0].jws);
    expect(payload).toEqual({
      v: 1,
      app: 'millionaire',
      resource: round,
      participants: ['alice', 'bob', 'carol'],
      result: { richest: ['bob', 'carol'] },
      instance: expect.stringMatching(/^[0-9a-f]{32}$/),
      time: expect.any(String),
    });
    expect(payload.result).toEqual({ richest: bodies[0].richest });
  });

  it('PSI: the signed result holds the size and the SHA-256 of the intersection as served, not the items', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    await submitSet(t, 'dave', id, ['pear', 'fig', 'apple']).expect(201);
    await submitSet(t, 'erin', id, ['fig', 'pear', 'kiwi']).expect(201);
    const bodies = await Promise.all(['dave', 'erin'].map(async (name) => (await t.as(name, PARTY).get(`/psi/sessions/${id}/result`).expect(200)).body));
    expect(bodies[1]).toEqual(bodies[0]);
    const { intersection, jws } = bodies[0] as { intersection: string[]; jws: string };
    expect(intersection).toEqual(['fig', 'pear']);
    const payload = await signedPayload(jws);
    expect(payload).toMatchObject({ app: 'psi', resource: id, participants: ['dave', 'erin'] });
    expect(payload.result).toEqual({ size: 2, intersectionSha256: sha256(JSON.stringify({ intersection })) });
    expect(JSON.stringify(payload)).not.toContain('pear');
  });

  it('PSI: checkIntersection accepts the list served beside the result, escapes and all, and refuses it changed', async () => {
    const shared = ['pêche', 'fig "dried"', 'back\\slash', '😀', 'tab\there'];
    const id = await createSession(t, ['dave', 'erin']);
    await submitSet(t, 'dave', id, [...shared, 'apple']).expect(201);
    await submitSet(t, 'erin', id, ['kiwi', ...shared]).expect(201);
    const { body } = await t.as('erin', PARTY).get(`/psi/sessions/${id}/result`).expect(200);
    const { intersection, jws } = body as { intersection: string[]; jws: string };
    expect([...intersection].sort()).toEqual([...shared].sort());
    const verified = { payload: await signedPayload(jws) };
    expect(() => checkIntersection(verified, intersection)).not.toThrow();
    expect(() => checkIntersection(verified, [...intersection.slice(1), 'mallory'])).toThrow(expect.objectContaining({ code: 'INTERSECTION_MISMATCH' }));
  });

  it('PSI, cardinality only: the signed result is the size', async () => {
    const id = await createSession(t, ['dave', 'frank'], { cardinalityOnly: true });
    await submitSet(t, 'dave', id, ['a', 'b', 'c']).expect(201);
    await submitSet(t, 'frank', id, ['b', 'c', 'd']).expect(201);
    const { body } = await t.as('frank', PARTY).get(`/psi/sessions/${id}/result`).expect(200);
    expect(body).toEqual({ size: 2, jws: expect.any(String) });
    expect((await signedPayload(body.jws)).result).toEqual({ size: 2 });
  });

  it('stats: an aggregate is signed with the participants whose values it is made of', async () => {
    const name = await stats.createComputation(t, 'sum', ['gina', 'hank', 'ivan'], 2);
    await stats.submit(t, 'ivan', name, { value: '2.5' }).expect(201);
    await stats.submit(t, 'gina', name, { value: '4' }).expect(201);
    const { body } = await stats.result(t, 'hank', name).expect(200);
    expect(body).toEqual({ result: '6.5', jws: expect.any(String) });
    expect(await signedPayload(body.jws)).toMatchObject({ app: 'stats', resource: name, participants: ['gina', 'ivan'], result: '6.5' });
  });

  it('stats keymatch: each matched key is signed as released, for its submitters only', async () => {
    const name = await stats.createComputation(t, 'keymatch', ['gina', 'hank', 'ivan'], 2);
    await stats.submit(t, 'gina', name, { key: 'k1', message: 'from gina' }).expect(201);
    await stats.submit(t, 'hank', name, { key: 'k1', message: 'from hank' }).expect(201);
    const gina = (await stats.result(t, 'gina', name).expect(200)).body.result;
    const hank = (await stats.result(t, 'hank', name).expect(200)).body.result;
    expect(hank).toEqual(gina);
    const [{ jws, ...released }] = gina;
    expect(await signedPayload(jws)).toMatchObject({ app: 'stats', resource: name, participants: ['gina', 'hank'], result: released });
    expect((await stats.result(t, 'ivan', name).expect(200)).body).toEqual({ result: [] });
  });
});
