import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { PARTY } from './psi-helpers';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

const create = (body: unknown, as = t.as('dave', PARTY)) => as.post('/psi/sessions').send(body as object);

describe('POST /psi/sessions', () => {
  it('creates a session with the defaults filled in and a generated id', async () => {
    const res = await create({ participants: ['dave', 'erin'] }).expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      participants: ['dave', 'erin'],
      cardinalityOnly: false,
      normalize: { trim: false, caseFold: false },
      expiresAt: expect.any(String),
    });
    // A day by default.
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(86_390_000);
  });

  it('keeps a chosen id and options; any identified caller may create, without taking part', async () => {
    const body = { participants: ['dave', 'erin', 'frank'], id: 'census_2024-A', cardinalityOnly: true, normalize: { caseFold: true } };
    const res = await create(body, t.as('mallory', 'guest')).expect(201);
    expect(res.body).toEqual({ ...body, normalize: { trim: false, caseFold: true }, expiresAt: expect.any(String) });
  });

  it('answers 409 SESSION_EXISTS for an id in use, and keeps the first session', async () => {
    await create({ participants: ['dave', 'erin'], id: 'taken' }).expect(201);
    const res = await create({ participants: ['erin', 'frank'], id: 'taken' }).expect(409);
    expect(res.body).toEqual({ error: 'SESSION_EXISTS', message: expect.any(String) });
    await t.as('frank', PARTY).get('/psi/sessions/taken/result').expect(403);
  });

  it('answers 401 to an anonymous caller', async () => {
    const res = await create({ participants: ['dave', 'erin'] }, t.anonymous).expect(401);
    expect(res.body.error).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['fewer than two participants', { participants: ['dave'] }, 'participants'],
    ['no participants field', {}, 'participants'],
    ['a participant listed twice', { participants: ['dave', 'erin', 'dave'] }, 'participants.2'],
    ['a caller without the PSI role', { participants: ['dave', 'mallory'] }, 'participants.1'],
    ['an unknown caller', { participants: ['zed', 'dave'] }, 'participants.0'],
    ['a participant that is not a string', { participants: ['dave', 7] }, 'participants.1'],
    ['an id with a slash', { participants: ['dave', 'erin'], id: 'a/b' }, 'id'],
    ['an id too long', { participants: ['dave', 'erin'], id: 'x'.repeat(65) }, 'id'],
    ['a non-boolean cardinalityOnly', { participants: ['dave', 'erin'], cardinalityOnly: 'yes' }, 'cardinalityOnly'],
    ['an unknown normalisation', { participants: ['dave', 'erin'], normalize: { stem: true } }, 'normalize'],
    ['an unknown field', { participants: ['dave', 'erin'], cardinality: true }, ''],
  ])('answers 400 INVALID_BODY for %s, naming the field', async (_what, body, field) => {
    const res = await create(body).expect(400);
    expect(res.body.error).toBe('INVALID_BODY');
    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('answers 400 for more than 100 participants', async () => {
    const res = await create({ participants: Array.from({ length: 101 }, (_, i) => `p${i}`) }).expect(400);
    expect(res.body.details).toEqual(expect.arrayContaining([{ field: 'participants', message: expect.stringMatching(/at most 100/) }]));
  });

  it('answers 400 MALFORMED_JSON for a body that is not JSON', async () => {
    const res = await t.as('dave', PARTY).post('/psi/sessions').set('Content-Type', 'application/json').send('{"participants":').expect(400);
    expect(res.body.error).toBe('MALFORMED_JSON');
  });

  it('documents its routes in /openapi.json', async () => {
    const res = await t.anonymous.get('/openapi.json').expect(200);
    const paths = res.body.paths;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/psi/sessions', '/psi/sessions/{session}/set', '/psi/sessions/{session}/result']));
    expect(Object.keys(paths['/psi/sessions/{session}/set'].post.requestBody.content)).toEqual(['application/json', 'text/plain', 'text/csv']);
    expect(paths['/psi/sessions'].post.requestBody.content['application/json'].schema.properties.participants).toBeDefined();
  });
});
