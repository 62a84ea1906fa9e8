import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { PARTY, type Format, createSession, encode, nextRequestSeen, openUpload, submit } from './psi-helpers';

let t: TestServer;
let logs: ReturnType<typeof fixtureApp>['logs'];
beforeAll(async () => {
  const fixture = fixtureApp();
  logs = fixture.logs;
  t = await serve(fixture.app);
});
afterAll(() => t.close());

const result = (name: string, session: string) => t.as(name, PARTY).get(`/psi/sessions/${session}/result`);
const range = (from: number, to: number, name = (i: number) => `item-${i}`) => Array.from({ length: to - from }, (_, i) => name(from + i));

describe('GET /psi/sessions/:session/result', () => {
  it('gives two parties the sorted intersection, whatever order they sent their items in', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    expect((await submit(t, 'dave', id, ['pear', 'apple', 'fig', 'Apple']).expect(201)).body).toEqual({ received: 4, missing: ['erin'] });
    expect((await submit(t, 'erin', id, ['fig', 'kiwi', 'apple', 'Apple'], 'text').expect(201)).body).toEqual({ received: 4, missing: [] });
    for (const name of ['dave', 'erin']) {
      const res = await result(name, id).expect(200);
      expect(res.body).toEqual({ intersection: ['Apple', 'apple', 'fig'], jws: expect.any(String) });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('intersects three parties sending three formats', async () => {
    const id = await createSession(t, ['dave', 'erin', 'frank']);
    await submit(t, 'frank', id, ['a', 'b', 'c', 'd'], 'csv').expect(201);
    await submit(t, 'dave', id, ['b', 'c', 'd', 'e'], 'text').expect(201);
    await submit(t, 'erin', id, ['c', 'd', 'e', 'a'], 'json').expect(201);
    expect((await result('erin', id).expect(200)).body).toEqual({ intersection: ['c', 'd'], jws: expect.any(String) });
  });

  it('gives only the size in a cardinality-only session', async () => {
    const id = await createSession(t, ['dave', 'erin'], { cardinalityOnly: true });
    await submit(t, 'dave', id, ['a', 'b', 'c']).expect(201);
    await submit(t, 'erin', id, ['b', 'c', 'd']).expect(201);
    expect((await result('dave', id).expect(200)).body).toEqual({ size: 2, jws: expect.any(String) });
  });

  it('gives an empty intersection when the sets share nothing', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    await submit(t, 'dave', id, ['a']).expect(201);
    await submit(t, 'erin', id, []).expect(201);
    expect((await result('dave', id).expect(200)).body).toEqual({ intersection: [], jws: expect.any(String) });
  });

  it('answers 409 WAITING_FOR_PARTICIPANTS, saying how many are missing, until all have submitted', async () => {
    const id = await createSession(t, ['dave', 'erin', 'frank']);
    let res = await result('dave', id).expect(409);
    expect(res.body).toEqual({ error: 'WAITING_FOR_PARTICIPANTS', message: expect.stringMatching(/^3 participants have not/) });
    await submit(t, 'dave', id, ['a']).expect(201);
    await submit(t, 'erin', id, ['a']).expect(201);
    res = await result('dave', id).expect(409);
    expect(res.body.message).toMatch(/^1 participant has not/);
  });

  it('answers 403 NOT_A_PARTICIPANT to others, before and after the result exists', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    expect((await result('frank', id).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    await submit(t, 'dave', id, ['a']).expect(201);
    await submit(t, 'erin', id, ['a']).expect(201);
    expect((await result('frank', id).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    expect((await t.as('mallory', 'guest').get(`/psi/sessions/${id}/result`).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
  });

  it('answers 404 for an unknown session and 401 without identity', async () => {
    expect((await result('dave', 'nope').expect(404)).body.error).toBe('SESSION_NOT_FOUND');
    expect((await t.anonymous.get('/psi/sessions/nope/result').expect(401)).body.error).toBe('UNAUTHENTICATED');
  });

  it('stays the same once available, for every participant and every request', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    await submit(t, 'dave', id, range(0, 3000)).expect(201);
    await submit(t, 'erin', id, range(1000, 4000)).expect(201);
    const answers = await Promise.all(['dave', 'erin', 'dave', 'erin'].map((n) => result(n, id).expect(200)));
    const expected = range(1000, 3000).sort();
    for (const res of answers) expect(res.body).toEqual({ intersection: expected, jws: expect.any(String) });
    await submit(t, 'erin', id, ['item-0']).expect(409);
    expect((await result('dave', id).expect(200)).body).toEqual({ intersection: expected, jws: expect.any(String) });
  });
});

describe('concurrency', () => {
  it('gives one consistent result when every party submits at the same time', async () => {
    const id = await createSession(t, ['dave', 'erin', 'frank']);
    const sets: Record<string, [string[], Format]> = {
      dave: [range(0, 20_000), 'text'],
      erin: [range(5_000, 25_000), 'csv'],
      frank: [range(0, 30_000).filter((_, i) => i % 3 !== 0), 'json'],
    };
    const receipts = await Promise.all(Object.entries(sets).map(([name, [items, format]]) => submit(t, name, id, items, format).expect(201)));
    expect(receipts.map((r) => r.body.received)).toEqual([20_000, 20_000, 20_000]);
    expect(receipts.filter((r) => r.body.missing.length === 0)).toHaveLength(1);
    const expected = range(5_000, 20_000)
      .filter((x) => Number(x.slice(5)) % 3 !== 0)
      .sort();
    const answers = await Promise.all(['dave', 'erin', 'frank'].map((n) => result(n, id).expect(200)));
    for (const res of answers) expect(res.body.intersection).toEqual(expected);
  });

  it('accepts exactly one of two simultaneous submissions by the same party', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    const [a, b] = await Promise.all([submit(t, 'dave', id, range(0, 5000), 'text'), submit(t, 'dave', id, ['x'], 'json')]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error).toBe('ALREADY_SUBMITTED');
    await submit(t, 'erin', id, ['x', 'item-1']).expect(201);
    expect((await result('erin', id).expect(200)).body).toEqual({ intersection: a.status === 201 ? ['item-1'] : ['x'], jws: expect.any(String) });
  });

  it('intersects correctly an upload that started before another party committed', async () => {
    const id = await createSession(t, ['dave', 'erin', 'frank']);
    await submit(t, 'dave', id, ['a', 'b', 'c', 'd']).expect(201);
    // erin filters against dave's set as it was when she started; frank commits in the meantime.
    const seen = nextRequestSeen(t);
    const erin = openUpload(t, 'erin', id);
    erin.req.write('a\nb\n');
    await seen;
    await submit(t, 'frank', id, ['b', 'c', 'd']).expect(201);
    erin.req.end('c\nz\n');
    expect(await erin.response).toEqual({ status: 201, body: { received: 4, missing: [] } });
    expect((await result('frank', id).expect(200)).body).toEqual({ intersection: ['b', 'c'], jws: expect.any(String) });
  });
});

describe('scale', () => {
  it('streams and intersects 200,000 items per party as text/plain', async () => {
    const id = await createSession(t, ['dave', 'erin']);
    const n = 200_000;
    const dave = encode(
      range(0, n, (i) => `user${i}@example.org`),
      'text',
    ).body;
    const erin = encode(
      range(n / 2, n + n / 2, (i) => `user${i}@example.org`),
      'text',
    ).body;
    const upload = (name: string, body: string) => t.as(name, PARTY).post(`/psi/sessions/${id}/set`).set('Content-Type', 'text/plain').send(body);
    await upload('dave', dave).expect(201, { received: n, missing: ['erin'] });
    await upload('erin', erin).expect(201, { received: n, missing: [] });
    const res = await result('dave', id).expect(200);
    expect(res.body.intersection).toHaveLength(n / 2);
    expect(res.body.intersection).toEqual(range(n / 2, n, (i) => `user${i}@example.org`).sort());
  });
});

describe('logs', () => {
  it('never contain submitted items, in any format, accepted or refused', async () => {
    const secret = (k: string) => `SECRET-${k}-7f3a`;
    const id = await createSession(t, ['dave', 'erin', 'frank'], { normalize: { trim: true } });
    await submit(t, 'dave', id, [secret('json'), secret('both')], 'json').expect(201);
    await submit(t, 'erin', id, [secret('text'), secret('both')], 'text').expect(201);
    // Refused uploads: an over-long item, malformed JSON and CSV quoting each carry a secret.
    const refused = [
      ['text/plain', `${secret('long')}${'x'.repeat(2000)}\n`, 413],
      ['application/json', `["${secret('bad-json')}", 1]`, 400],
      ['text/csv', `${secret('bad"csv')}\n`, 400],
    ] as const;
    for (const [type, body, status] of refused) {
      const res = await t.as('frank', PARTY).post(`/psi/sessions/${id}/set`).set('Content-Type', type).send(body).expect(status);
      expect(JSON.stringify(res.body)).not.toMatch(/SECRET/);
    }
    await submit(t, 'frank', id, [secret('both')], 'csv').expect(201);
    expect((await result('frank', id).expect(200)).body).toEqual({ intersection: [secret('both')], jws: expect.any(String) });
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.text()).not.toMatch(/SECRET|7f3a/);
  });
});
