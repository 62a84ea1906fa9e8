import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { freshId, openRound, result, submit } from './support';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

describe('the default round', () => {
  it('is open to every configured bidder and names the richest once all have submitted', async () => {
    expect((await submit(t, 'default', 'alice', 100).expect(201)).body).toEqual({ submitted: true, missing: 2 });
    expect((await submit(t, 'default', 'bob', '250.5').expect(201)).body).toEqual({ submitted: true, missing: 1 });
    expect((await submit(t, 'default', 'carol', '250.49').expect(201)).body).toEqual({ submitted: true, missing: 0 });
    for (const name of ['alice', 'bob', 'carol']) {
      expect((await result(t, 'default', name).expect(200)).body).toEqual({ richest: ['bob'], jws: expect.any(String) });
    }
  });
});

describe('created rounds', () => {
  it('may be created by a caller who does not take part, and only participants use them', async () => {
    const created = await t
      .as('mallory', 'guest')
      .post('/millionaire/rounds')
      .send({ participants: ['bob', 'carol'], id: 'duel' })
      .expect(201);
    expect(created.body).toEqual({ id: 'duel', participants: ['bob', 'carol'], expiresAt: expect.any(String) });

    await submit(t, 'duel', 'carol', '0.000001').expect(201);
    await submit(t, 'duel', 'bob', 0).expect(201);
    expect((await result(t, 'duel', 'bob').expect(200)).body).toEqual({ richest: ['carol'], jws: expect.any(String) });
    expect((await result(t, 'duel', 'carol').expect(200)).body).toEqual({ richest: ['carol'], jws: expect.any(String) });
    expect((await t.as('mallory', 'guest').get('/millionaire/rounds/duel/result').expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
  });

  it('takes every eligible caller and a random id when the body names neither', async () => {
    const res = await t.as('dave', 'party').post('/millionaire/rounds').send({}).expect(201);
    expect(res.body.participants).toEqual(['alice', 'bob', 'carol']);
    expect(res.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await submit(t, res.body.id, 'alice', 3).expect(201);
    expect((await result(t, res.body.id, 'alice').expect(409)).body.error).toBe('WAITING_FOR_PARTICIPANTS');
  });

  it('treats a POST with no body at all (curl -X POST) like an empty object', async () => {
    const res = await t.as('dave', 'party').post('/millionaire/rounds').expect(201);
    expect(res.body.participants).toEqual(['alice', 'bob', 'carol']);
  });

  it('keeps the participants in the order given', async () => {
    await openRound(t, ['carol', 'alice'], freshId());
  });
});

describe('ties', () => {
  it('names everyone who ties, sorted by name, whatever the notation of the equal amounts', async () => {
    const id = await openRound(t, ['carol', 'bob', 'alice']);
    await submit(t, id, 'carol', '0100.000').expect(201);
    await submit(t, id, 'bob', 100).expect(201);
    await submit(t, id, 'alice', '100').expect(201);
    expect((await result(t, id, 'carol').expect(200)).body).toEqual({ richest: ['alice', 'bob', 'carol'], jws: expect.any(String) });
  });

  it('names only those tying at the top', async () => {
    const id = await openRound(t, ['alice', 'bob', 'carol']);
    await submit(t, id, 'carol', '7.5').expect(201);
    await submit(t, id, 'alice', '7.49999999999999999999999999').expect(201);
    await submit(t, id, 'bob', 7.5).expect(201);
    expect((await result(t, id, 'alice').expect(200)).body).toEqual({ richest: ['bob', 'carol'], jws: expect.any(String) });
  });

  it('names everyone when nobody has anything', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    await submit(t, id, 'alice', 0).expect(201);
    await submit(t, id, 'bob', '0.0').expect(201);
    expect((await result(t, id, 'bob').expect(200)).body).toEqual({ richest: ['alice', 'bob'], jws: expect.any(String) });
  });
});

describe('exact comparison', () => {
  it('tells apart JSON number literals that are the same double', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    await submit(t, id, 'alice', '12345678901234567890.000000000000000001', true).expect(201);
    await submit(t, id, 'bob', '12345678901234567890', true).expect(201);
    expect((await result(t, id, 'bob').expect(200)).body).toEqual({ richest: ['alice'], jws: expect.any(String) });
  });

  it('tells apart integers beyond 2^53 given as numbers', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    await submit(t, id, 'alice', '9007199254740992', true).expect(201);
    await submit(t, id, 'bob', '9007199254740993', true).expect(201);
    expect((await result(t, id, 'alice').expect(200)).body).toEqual({ richest: ['bob'], jws: expect.any(String) });
  });

  it('compares a string against a number exactly', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    await submit(t, id, 'alice', '0.1000000000000000000000000000000000001').expect(201);
    await submit(t, id, 'bob', 0.1).expect(201);
    expect((await result(t, id, 'alice').expect(200)).body).toEqual({ richest: ['alice'], jws: expect.any(String) });
  });

  it('treats a huge string and the same value as a raw number literal as a tie', async () => {
    const id = await openRound(t, ['alice', 'bob']);
    await submit(t, id, 'alice', '98765432109876543210987654321.123456789').expect(201);
    await submit(t, id, 'bob', '98765432109876543210987654321.1234567890', true).expect(201);
    expect((await result(t, id, 'alice').expect(200)).body).toEqual({ richest: ['alice', 'bob'], jws: expect.any(String) });
  });
});

describe('a revealed result', () => {
  it('is locked: every participant gets the same answer, every time, and late submissions change nothing', async () => {
    const id = await openRound(t, ['alice', 'bob', 'carol']);
    await submit(t, id, 'alice', 1).expect(201);
    await submit(t, id, 'bob', 2).expect(201);
    await submit(t, id, 'carol', 3).expect(201);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      for (const name of ['alice', 'bob', 'carol']) answers.push((await result(t, id, name).expect(200)).body);
      expect((await submit(t, id, 'alice', 1_000_000).expect(409)).body.error).toBe('ALREADY_SUBMITTED');
    }
    for (const answer of answers) expect(answer).toEqual({ richest: ['carol'], jws: expect.any(String) });
  });
});

describe('GET /openapi.json', () => {
  it('documents the three routes with their bodies', async () => {
    const doc = (await t.anonymous.get('/openapi.json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/millionaire/rounds', '/millionaire/rounds/{round}/wealth', '/millionaire/rounds/{round}/result']),
    );
    const create = doc.paths['/millionaire/rounds'].post;
    expect(create.requestBody.content['application/json'].schema.properties).toHaveProperty('participants');
    expect(create.responses['201'].content['application/json'].schema.required).toEqual(['id', 'participants', 'expiresAt']);
    const submitOp = doc.paths['/millionaire/rounds/{round}/wealth'].post;
    expect(submitOp.requestBody.content['application/json'].schema.required).toEqual(['wealth']);
    expect(Object.keys(submitOp.responses).sort()).toEqual(['201', '400', '401', '403', '404', '409']);
    expect(doc.paths['/millionaire/rounds/{round}/result'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('richest');
  });
});
