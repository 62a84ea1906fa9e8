import { fixtureApp, userKey } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';

/** The stats role in the fixture configuration. */
export const ROLE = 'analyst';

/** Names for extra analysts: `analyst01`, `analyst02`, … */
export const extraAnalysts = (count: number) => Array.from({ length: count }, (_, i) => `analyst${String(i + 1).padStart(2, '0')}`);

/**
 * Serves the fixture app with `extra` more analysts besides gina, hank and ivan, and optional
 * stats settings; returns the server and the captured logs.
 */
export async function statsServer(extra = 0, stats: Record<string, unknown> = {}) {
  const { app, logs } = fixtureApp((config) => {
    for (const name of extraAnalysts(extra)) config.users.push({ name, role: ROLE, key: userKey(name) });
    config.apps.stats = { role: ROLE, ...stats };
  });
  const server = await serve(app);
  return { server, logs };
}

let counter = 0;
/** A computation name no other test in this process uses. */
export const uniqueName = (prefix = 'c') => `${prefix}-${++counter}`;

/**
 * Creates a computation and expects 201. Each is created by a caller of its own, who does not take
 * part, so that tests never meet the limit on computations per creator.
 */
export async function createComputation(t: TestServer, type: string, participants: string[], quorum: number, name = uniqueName(type)): Promise<string> {
  await t.as(`creator-${++counter}`, 'guest').post('/stats/computations').send({ name, type, participants, quorum }).expect(201);
  return name;
}

/** Submits a JSON body given as raw text, so numbers reach the server exactly as written. */
export const submitRaw = (t: TestServer, who: string, name: string, json: string) =>
  t.as(who, ROLE).post(`/stats/computations/${name}/submissions`).set('Content-Type', 'application/json').send(json);

/** Submits a body as JSON. */
export const submit = (t: TestServer, who: string, name: string, body: object) => t.as(who, ROLE).post(`/stats/computations/${name}/submissions`).send(body);

/** Reads a result. */
export const result = (t: TestServer, who: string, name: string) => t.as(who, ROLE).get(`/stats/computations/${name}/result`);
