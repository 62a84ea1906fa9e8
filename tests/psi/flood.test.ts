import { setTimeout as sleep } from 'node:timers/promises';
import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { PARTY, submit } from './psi-helpers';

/**
 * A flood, bounded in time: three callers create sessions, fill one set each and abandon them,
 * as fast as they can, past every limit of count and bytes. The app must refuse with 429 and
 * Retry-After rather than grow, keep its memory bounded, and accept new work once what was
 * abandoned has expired, with no restart.
 */
const FLOOD_MS = 5_000;
const TTL_SECONDS = 2;
const SETTINGS = { ttlSeconds: TTL_SECONDS, maxLive: 20, maxPerCaller: 5, maxBytes: 4 << 20, maxBytesPerCaller: 2 << 20 };
/** Growth of the process's resident memory the flood may cause, beyond where it started. */
const RSS_BOUND_BYTES = 256 << 20;

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp((config) => (config.apps.psi = { role: PARTY, ...SETTINGS })).app);
});
afterAll(() => t.close());

async function floodAs(caller: string, until: number, statuses: Map<number, number>, retryAfters: string[]): Promise<void> {
  const set = Array.from({ length: 5_000 }, (_, i) => `${caller}-${i}-${'z'.repeat(30)}`);
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  while (Date.now() < until) {
    const created = await t
      .as(caller, PARTY)
      .post('/psi/sessions')
      .send({ participants: ['dave', 'erin', 'frank'] });
    count(created.status);
    if (created.status === 429) {
      retryAfters.push(created.headers['retry-after'] as string);
      await sleep(20);
      continue;
    }
    // One set of three: the session never completes and is abandoned.
    const uploaded = await submit(t, caller, created.body.id as string, set, 'text');
    count(uploaded.status);
    if (uploaded.status === 429) retryAfters.push(uploaded.headers['retry-after'] as string);
  }
}

it('refuses a flood with 429 and Retry-After, stays within a memory bound, and accepts new sessions once the abandoned ones expire', async () => {
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const statuses = new Map<number, number>();
  const retryAfters: string[] = [];
  try {
    const until = Date.now() + FLOOD_MS;
    await Promise.all(['dave', 'erin', 'frank'].map((caller) => floodAs(caller, until, statuses, retryAfters)));
  } finally {
    clearInterval(sampler);
  }

  expect(statuses.get(201)).toBeGreaterThan(0);
  expect(statuses.get(429)).toBeGreaterThan(0);
  expect([...statuses.keys()].sort()).toEqual([201, 429]);
  for (const value of retryAfters) expect(Number(value)).toBeGreaterThanOrEqual(1);
  expect(peakRss - startRss).toBeLessThan(RSS_BOUND_BYTES);

  // Every session above expires within the TTL; then the app takes new work as on the first day.
  await sleep(TTL_SECONDS * 1000 + 200);
  const fresh = await t
    .as('dave', PARTY)
    .post('/psi/sessions')
    .send({ participants: ['dave', 'erin'] })
    .expect(201);
  await submit(t, 'dave', fresh.body.id as string, ['a', 'b']).expect(201);
  await submit(t, 'erin', fresh.body.id as string, ['b']).expect(201);
  expect(
    (
      await t
        .as('erin', PARTY)
        .get(`/psi/sessions/${fresh.body.id as string}/result`)
        .expect(200)
    ).body,
  ).toEqual({ intersection: ['b'], jws: expect.any(String) });
}, 30_000);
