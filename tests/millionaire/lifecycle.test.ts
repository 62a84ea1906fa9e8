import { setTimeout as sleep } from 'node:timers/promises';
import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { BIDDER, openRound, result, submit } from './support';

/** The example apps with the millionaire app's lifecycle settings changed. */
async function withRounds(settings: Record<string, number>): Promise<TestServer> {
  const { app } = fixtureApp((config) => {
    config.apps.millionaire = { role: BIDDER, ...settings };
  });
  return serve(app);
}

describe('millionaire rounds have a life cycle', () => {
  const servers: TestServer[] = [];
  afterAll(() => Promise.all(servers.map((t) => t.close())));
  const server = async (settings: Record<string, number>) => {
    const t = await withRounds(settings);
    servers.push(t);
    return t;
  };

  it('says when a round expires, and forgets it then, result and all', async () => {
    const t = await server({ ttlSeconds: 1 });
    const created = await t
      .as('alice', BIDDER)
      .post('/millionaire/rounds')
      .send({ id: 'short', participants: ['alice', 'bob'] })
      .expect(201);
    const expiresAt = Date.parse(created.body.expiresAt);
    expect(expiresAt - Date.now()).toBeGreaterThan(0);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(1_000);
    await submit(t, 'short', 'alice', 5).expect(201);
    await submit(t, 'short', 'bob', 7).expect(201);
    expect((await result(t, 'short', 'alice').expect(200)).body).toEqual({ richest: ['bob'], jws: expect.any(String) });
    await sleep(expiresAt - Date.now() + 100);
    const gone = await result(t, 'short', 'alice').expect(404);
    expect(gone.body.error).toBe('ROUND_NOT_FOUND');
  });

  it('opens the default round again when it expires', async () => {
    const t = await server({ ttlSeconds: 1 });
    await submit(t, 'default', 'alice', 5).expect(201);
    await sleep(1_100);
    await submit(t, 'default', 'alice', 6).expect(201);
  });

  it("answers 429 ROUND_LIMIT_REACHED with Retry-After at a caller's limit, and accepts again once one is deleted", async () => {
    const t = await server({ maxPerCaller: 2, ttlSeconds: 600 });
    const a = await openRound(t, ['alice', 'bob']);
    await openRound(t, ['alice', 'bob']);
    const refused = await t
      .as('alice', BIDDER)
      .post('/millionaire/rounds')
      .send({ participants: ['alice', 'bob'] })
      .expect(429);
    expect(refused.body).toEqual({ error: 'ROUND_LIMIT_REACHED', message: expect.stringContaining('the most one caller may') });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(590);
    await openRound(t, ['alice', 'bob'], undefined, 'bob');
    await t.as('alice', BIDDER).delete(`/millionaire/rounds/${a}`).expect(204);
    await openRound(t, ['alice', 'bob']);
  });

  it("counts a round's signed result against its creator's bytes: a limit of 20,000 bytes holds one round, not two", async () => {
    const t = await server({ maxBytesPerCaller: 20_000 });
    const first = await openRound(t, ['alice', 'bob']);
    const refused = await t
      .as('alice', BIDDER)
      .post('/millionaire/rounds')
      .send({ participants: ['alice', 'bob'] })
      .expect(429);
    expect(refused.body.error).toBe('ROUND_LIMIT_REACHED');
    await t.as('alice', BIDDER).delete(`/millionaire/rounds/${first}`).expect(204);
    await openRound(t, ['alice', 'bob']);
  });

  it('answers 429 at the limit of the whole app, the default round included', async () => {
    const t = await server({ maxLive: 2 });
    await openRound(t, ['alice', 'bob'], undefined, 'carol');
    const refused = await t.as('bob', BIDDER).post('/millionaire/rounds').send({}).expect(429);
    expect(refused.body.message).toMatch(/holds 2 live rounds, the most it keeps at once/);
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  });

  it('lets the creator delete a round at any time, a participant only before anyone submitted, and no one else', async () => {
    const t = await server({});
    const byCreator = await openRound(t, ['bob', 'carol'], undefined, 'alice');
    await submit(t, byCreator, 'bob', 1).expect(201);
    await t
      .as('bob', BIDDER)
      .delete(`/millionaire/rounds/${byCreator}`)
      .expect(403, /NOT_ALLOWED_TO_DELETE/);
    await t.as('mallory', 'guest').delete(`/millionaire/rounds/${byCreator}`).expect(403);
    await t.as('alice', BIDDER).delete(`/millionaire/rounds/${byCreator}`).expect(204);
    await result(t, byCreator, 'bob').expect(404);
    await t.as('alice', BIDDER).delete(`/millionaire/rounds/${byCreator}`).expect(404);

    const untouched = await openRound(t, ['bob', 'carol'], undefined, 'alice');
    await t.as('carol', BIDDER).delete(`/millionaire/rounds/${untouched}`).expect(204);
    await t.anonymous.delete(`/millionaire/rounds/${untouched}`).expect(401);
  });
});
