import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { BIDDER, freshId, openRound, result, submit } from './support';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

describe('401 without identity', () => {
  it.each([
    ['post', '/millionaire/rounds'],
    ['post', '/millionaire/rounds/default/wealth'],
    ['get', '/millionaire/rounds/default/result'],
  ] as const)('%s %s', async (verb, path) => {
    const res = await t.anonymous[verb](path)
      .send(verb === 'post' ? { wealth: 1 } : undefined)
      .expect(401);
    expect(res.body).toEqual({ error: 'UNAUTHENTICATED', message: expect.any(String) });
  });
});

describe('405 for a method a route does not serve', () => {
  it.each([
    ['get', '/millionaire/rounds', 'POST'],
    ['get', '/millionaire/rounds/default/wealth', 'POST'],
    ['post', '/millionaire/rounds/default/result', 'GET, HEAD'],
    ['delete', '/millionaire/rounds/default/result', 'GET, HEAD'],
  ] as const)('%s %s', async (verb, path, allow) => {
    const res = await t.as('alice', BIDDER)[verb](path).expect(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body.error).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('404 ROUND_NOT_FOUND', () => {
  it('for a submission to an unknown round', async () => {
    expect((await submit(t, 'no-such-round', 'alice', 1).expect(404)).body.error).toBe('ROUND_NOT_FOUND');
  });

  it('for the result of an unknown round', async () => {
    expect((await result(t, 'no-such-round', 'alice').expect(404)).body.error).toBe('ROUND_NOT_FOUND');
  });
});

describe('403 NOT_A_PARTICIPANT', () => {
  it('refuses callers outside the default round', async () => {
    for (const [name, role] of [
      ['mallory', 'guest'],
      ['dave', 'party'],
    ]) {
      const sent = await t.as(name!, role!).post('/millionaire/rounds/default/wealth').send({ wealth: 1 }).expect(403);
      expect(sent.body.error).toBe('NOT_A_PARTICIPANT');
      const read = await t.as(name!, role!).get('/millionaire/rounds/default/result').expect(403);
      expect(read.body.error).toBe('NOT_A_PARTICIPANT');
    }
  });

  it('refuses an eligible caller who is not in a created round, including its creator', async () => {
    const id = await openRound(t, ['bob', 'carol'], freshId(), 'alice');
    expect((await submit(t, id, 'alice', 1).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    expect((await result(t, id, 'alice').expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
  });
});

describe('400 for a wealth that is not a non-negative decimal', () => {
  // Distinctive digits, so that a response echoing the value would be caught.
  const bad: [string, unknown][] = [
    ['a negative number', -739.11],
    ['a tiny negative number', -0.00073911],
    ['a negative string', '-739.11'],
    ['"NaN"', 'NaN'],
    ['"Infinity"', 'Infinity'],
    ['an exponent string', '73911e5'],
    ['an upper-case exponent string', '73911E-3'],
    ['a hex string', '0x73911'],
    ['an empty string', ''],
    ['a string with spaces', ' 73911'],
    ['a trailing dot', '73911.'],
    ['a leading dot', '.73911'],
    ['thousands separators', '73,911'],
    ['a plus sign', '+73911'],
    ['an object', { amount: 73911 }],
    ['an array', [73911]],
    ['true', true],
    ['false', false],
    ['null', null],
    ['a string of 101 digits', '7'.repeat(101)],
  ];
  it.each(bad)('%s', async (_label, wealth) => {
    const res = await submit(t, 'default', 'alice', wealth).expect(400);
    expect(res.body.error).toBe('INVALID_BODY');
    expect(res.body.details).toEqual([{ field: 'wealth', message: expect.any(String) }]);
    expect(res.text).not.toMatch(/739|777|NaN|Infinity|0x/);
  });

  it.each([
    ['an exponent number literal out of range', '1e400'],
    ['a negative huge literal', '-12345678901234567890.5'],
  ])('%s', async (_label, raw) => {
    const res = await submit(t, 'default', 'alice', raw, true).expect(400);
    expect(res.body.details).toEqual([{ field: 'wealth', message: expect.any(String) }]);
    expect(res.text).not.toContain(raw.replace('-', ''));
  });

  it('when the field is missing, misspelt or joined by another', async () => {
    expect((await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').send({}).expect(400)).body.details).toEqual([
      { field: 'wealth', message: expect.any(String) },
    ]);
    await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').send({ welth: 1 }).expect(400);
    await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').send({ wealth: 1, currency: 'EUR' }).expect(400);
  });

  it('when the body is not an object, or is empty', async () => {
    for (const raw of ['5', '"5"', '[]', 'null']) {
      await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').set('Content-Type', 'application/json').send(raw).expect(400);
    }
    const empty = await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').set('Content-Type', 'application/json').expect(400);
    expect(empty.body.error).toBe('MALFORMED_JSON');
    const none = await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').expect(400);
    expect(none.body.error).toBe('INVALID_BODY');
  });

  it('400 MALFORMED_JSON for broken JSON, without quoting it', async () => {
    const res = await t
      .as('alice', BIDDER)
      .post('/millionaire/rounds/default/wealth')
      .set('Content-Type', 'application/json')
      .send('{"wealth": 4242.4242')
      .expect(400);
    expect(res.body.error).toBe('MALFORMED_JSON');
    expect(res.text).not.toContain('4242');
  });

  it('415 for a body that is not JSON', async () => {
    const res = await t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').set('Content-Type', 'text/plain').send('10').expect(415);
    expect(res.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('413 for a body over the JSON limit', async () => {
    const res = await submit(t, 'default', 'alice', `"${'1'.repeat(2 << 20)}"`, true).expect(413);
    expect(res.body.error).toBe('BODY_TOO_LARGE');
  });

  it('and none of these changed anything: the caller can still submit once', async () => {
    expect((await submit(t, 'default', 'alice', 1).expect(201)).body).toEqual({ submitted: true, missing: 2 });
  });
});

describe('409', () => {
  it('ALREADY_SUBMITTED on a second submission, and the first value stands', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    await submit(t, id, 'alice', '5').expect(201);
    const again = await submit(t, id, 'alice', '1000').expect(409);
    expect(again.body.error).toBe('ALREADY_SUBMITTED');
    await submit(t, id, 'bob', '10').expect(201);
    expect((await result(t, id, 'alice').expect(200)).body).toEqual({ richest: ['bob'], jws: expect.any(String) });
  });

  it('WAITING_FOR_PARTICIPANTS says how many are missing', async () => {
    const id = await openRound(t, ['alice', 'bob', 'carol']);
    let res = await result(t, id, 'alice').expect(409);
    expect(res.body.error).toBe('WAITING_FOR_PARTICIPANTS');
    expect(res.body.message).toMatch(/^3 of 3 participants have not submitted yet/);
    await submit(t, id, 'carol', 1).expect(201);
    await submit(t, id, 'alice', 1).expect(201);
    res = await result(t, id, 'alice').expect(409);
    expect(res.body.message).toMatch(/^1 of 3 participants have not submitted yet/);
  });

  it('ROUND_EXISTS for a taken id, leaving the first round as it was', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    const res = await t
      .as('carol', BIDDER)
      .post('/millionaire/rounds')
      .send({ id, participants: ['carol', 'bob'] })
      .expect(409);
    expect(res.body.error).toBe('ROUND_EXISTS');
    expect((await t.as('carol', BIDDER).post('/millionaire/rounds').send({ id: 'default' }).expect(409)).body.error).toBe('ROUND_EXISTS');
    expect((await submit(t, id, 'carol', 1).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    await submit(t, id, 'alice', 1).expect(201);
  });
});

describe('400 for a bad round to create', () => {
  const create = (body: unknown) =>
    t
      .as('alice', BIDDER)
      .post('/millionaire/rounds')
      .send(body as object)
      .expect(400);
  const fields = async (body: unknown) => (await create(body)).body.details.map((d: { field: string }) => d.field);

  it('fewer than 2 participants', async () => {
    expect(await fields({ participants: ['alice'] })).toEqual(['participants']);
    expect(await fields({ participants: [] })).toEqual(['participants']);
  });

  it('a participant listed twice, naming the entry', async () => {
    const res = await create({ participants: ['alice', 'bob', 'alice'] });
    expect(res.body.details).toEqual([{ field: 'participants.2', message: '"alice" is listed twice' }]);
  });

  it('participants who are not eligible, naming each', async () => {
    const res = await create({ participants: ['alice', 'dave', 'bob', 'zed'] });
    expect(res.body.details).toEqual([
      { field: 'participants.1', message: '"dave" is not a configured caller with the role bidder' },
      { field: 'participants.3', message: '"zed" is not a configured caller with the role bidder' },
    ]);
  });

  it('participants of the wrong type, too many or too long', async () => {
    expect(await fields({ participants: 'alice,bob' })).toEqual(['participants']);
    expect(await fields({ participants: ['alice', 7] })).toEqual(['participants.1']);
    expect(await fields({ participants: ['alice', 'x'.repeat(129)] })).toEqual(['participants.1']);
    expect(await fields({ participants: Array.from({ length: 1001 }, (_, i) => `user${i}`) })).toEqual(['participants']);
  });

  it('an id that does not match the pattern', async () => {
    for (const id of ['', 'has space', 'slash/y', 'x'.repeat(65), 12]) {
      expect(await fields({ id, participants: ['alice', 'bob'] })).toEqual(['id']);
    }
  });

  it('an unknown field', async () => {
    expect((await create({ participants: ['alice', 'bob'], name: 'r' })).body.error).toBe('INVALID_BODY');
  });

  it('415 for a body that is not JSON', async () => {
    await t.as('alice', BIDDER).post('/millionaire/rounds').set('Content-Type', 'text/plain').send('alice,bob').expect(415);
  });
});

describe('a deployment with fewer than 2 eligible callers', () => {
  let lonely: TestServer;
  beforeAll(async () => {
    lonely = await serve(fixtureApp((c) => (c.apps.millionaire = { role: 'guest' })).app);
  });
  afterAll(() => lonely.close());

  it('has no default round', async () => {
    const res = await lonely.as('mallory', 'guest').get('/millionaire/rounds/default/result').expect(404);
    expect(res.body.error).toBe('ROUND_NOT_FOUND');
  });

  it('asks for participants rather than opening a round of one', async () => {
    const res = await lonely.as('mallory', 'guest').post('/millionaire/rounds').send({}).expect(400);
    expect(res.body.details).toEqual([{ field: 'participants', message: expect.stringContaining('fewer than 2') }]);
    await lonely
      .as('mallory', 'guest')
      .post('/millionaire/rounds')
      .send({ participants: ['mallory', 'alice'] })
      .expect(400);
  });
});
