import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { PARTY, createSession, submit } from './psi-helpers';

/** The example apps with the PSI app's lifecycle settings changed. */
async function withSessions(settings: Record<string, number>): Promise<TestServer> {
  return serve(fixtureApp((config) => (config.apps.psi = { role: PARTY, ...settings })).app);
}

/** A full collection, so that heap figures measure what is still referenced. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Twice: the first pass can leave what only its finalisers released.
  gc();
  gc();
}

/** Two sets of 100,000 shared items of about 50 characters, and a read of the result; the test keeps none of it. */
async function fillSession(t: TestServer, id: string): Promise<void> {
  const shared = Array.from({ length: 100_000 }, (_, i) => `shared-${i}-${'x'.repeat(40)}`);
  await submit(t, 'dave', id, shared, 'text').expect(201);
  await submit(t, 'erin', id, shared, 'text').expect(201);
  await t.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(200);
}

describe('PSI sessions have a life cycle', () => {
  const servers: TestServer[] = [];
  afterAll(() => Promise.all(servers.map((t) => t.close())));
  const server = async (settings: Record<string, number>) => {
    const t = await withSessions(settings);
    servers.push(t);
    return t;
  };

  it('forgets a session when it expires, sets and result with it', async () => {
    const t = await server({ ttlSeconds: 1 });
    const id = await createSession(t, ['dave', 'erin']);
    await submit(t, 'dave', id, ['a', 'b']).expect(201);
    await submit(t, 'erin', id, ['b', 'c']).expect(201);
    expect((await t.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(200)).body).toEqual({ intersection: ['b'], jws: expect.any(String) });
    await sleep(1_100);
    const gone = await t.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(404);
    expect(gone.body.error).toBe('SESSION_NOT_FOUND');
  });

  it("answers 429 TOO_MANY_SESSIONS with Retry-After at a caller's limit and at the app's", async () => {
    const t = await server({ maxPerCaller: 1, maxLive: 2 });
    await createSession(t, ['dave', 'erin']);
    const mine = await t
      .as('dave', PARTY)
      .post('/psi/sessions')
      .send({ participants: ['dave', 'erin'] })
      .expect(429);
    expect(mine.body.error).toBe('TOO_MANY_SESSIONS');
    expect(mine.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    await t
      .as('erin', PARTY)
      .post('/psi/sessions')
      .send({ participants: ['dave', 'erin'] })
      .expect(201);
    const full = await t
      .as('frank', PARTY)
      .post('/psi/sessions')
      .send({ participants: ['dave', 'erin'] })
      .expect(429);
    expect(full.body.message).toMatch(/the most it keeps at once/);
  });

  it("answers 429 when the sets of a caller's sessions would hold more than maxBytesPerCaller, and the upload can be sent again later", async () => {
    const t = await server({ maxBytesPerCaller: 20_000 });
    const first = await createSession(t, ['dave', 'erin']);
    const big = Array.from({ length: 150 }, (_, i) => `item-${i}-${'y'.repeat(20)}`);
    await submit(t, 'dave', first, big).expect(201);
    const second = await createSession(t, ['dave', 'erin']);
    const refused = await submit(t, 'dave', second, big).expect(429);
    expect(refused.body.error).toBe('TOO_MANY_SESSIONS');
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    await t.as('dave', PARTY).delete(`/psi/sessions/${first}`).expect(204);
    await submit(t, 'dave', second, big).expect(201);
  });

  it('lets the creator delete a session at any time, a participant only before any set was sent', async () => {
    const t = await server({});
    const started = await createSession(t, ['erin', 'frank']);
    await submit(t, 'erin', started, ['a']).expect(201);
    await t
      .as('frank', PARTY)
      .delete(`/psi/sessions/${started}`)
      .expect(403, /NOT_ALLOWED_TO_DELETE/);
    await t.as('gina', 'analyst').delete(`/psi/sessions/${started}`).expect(403);
    await t.as('dave', PARTY).delete(`/psi/sessions/${started}`).expect(204);
    await submit(t, 'frank', started, ['a']).expect(404);

    const fresh = await createSession(t, ['erin', 'frank']);
    await t.as('frank', PARTY).delete(`/psi/sessions/${fresh}`).expect(204);
    await t.as('frank', PARTY).delete(`/psi/sessions/${fresh}`).expect(404);
  });

  it('frees the memory of an expired session: expiry gives back what filling it took', async () => {
    // Long enough to fill it on a busy machine; the test waits out the rest.
    const t = await server({ ttlSeconds: 5 });
    const id = await createSession(t, ['dave', 'erin']);
    const created = Date.now();
    await fillSession(t, id);
    collectGarbage();
    const filled = process.memoryUsage().heapUsed;
    await sleep(Math.max(0, created + 5_000 - Date.now()) + 200);
    collectGarbage();
    expect(filled - process.memoryUsage().heapUsed).toBeGreaterThan(5 << 20);
    await t.as('dave', PARTY).get(`/psi/sessions/${id}/result`).expect(404);
  });

  it('frees the memory of a deleted session: deleting it gives back what filling it took', async () => {
    const t = await server({});
    const id = await createSession(t, ['dave', 'erin']);
    await fillSession(t, id);
    collectGarbage();
    const filled = process.memoryUsage().heapUsed;
    await t.as('dave', PARTY).delete(`/psi/sessions/${id}`).expect(204);
    collectGarbage();
    const freed = filled - process.memoryUsage().heapUsed;
    // 100,000 items of about 50 characters: at least 5 MB between the candidates and the result,
    // all of which the session alone held.
    expect(freed).toBeGreaterThan(5 << 20);
  });
});
