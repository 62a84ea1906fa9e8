import type { TestServer } from '../../express/testing';

/** The role the fixture configuration gives the millionaire app's eligible callers. */
export const BIDDER = 'bidder';

let counter = 0;
/** A round id no other test in the same file uses. */
export const freshId = (label = 'round') => `${label}-${++counter}`;

/** Opens a round named `id` as `creator` and checks the 201. */
export async function openRound(t: TestServer, participants: string[], id = freshId(), creator = 'alice'): Promise<string> {
  const res = await t.as(creator, BIDDER).post('/millionaire/rounds').send({ participants, id }).expect(201);
  expect(res.body).toEqual({ id, participants, expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  return id;
}

/** Submits `wealth` (any JSON value, or raw JSON text when `raw` is set) as `name`. */
export function submit(t: TestServer, round: string, name: string, wealth: unknown, raw = false) {
  const req = t.as(name, BIDDER).post(`/millionaire/rounds/${round}/wealth`);
  return raw ? req.set('Content-Type', 'application/json').send(`{"wealth": ${String(wealth)}}`) : req.send({ wealth });
}

/** Reads the result of `round` as `name`. */
export const result = (t: TestServer, round: string, name: string) => t.as(name, BIDDER).get(`/millionaire/rounds/${round}/result`);
