import type { TestServer } from '../../express/testing';
import { ROLE, createComputation, result, statsServer, submit, uniqueName } from './support';

let t: TestServer;
beforeAll(async () => {
  ({ server: t } = await statsServer());
});
afterAll(() => t.close());

const create = (body: unknown, who = 'gina', role = ROLE) =>
  t
    .as(who, role)
    .post('/stats/computations')
    .send(body as object);
const analysts = ['gina', 'hank', 'ivan'];
const valid = { type: 'sum', participants: analysts, quorum: 2 };

describe('POST /stats/computations', () => {
  it.each(['sum', 'mean', 'median', 'min', 'max', 'count', 'keymatch'])('creates a %s computation and answers 201 with its id', async (type) => {
    const name = uniqueName(type);
    const res = await create({ name, type, participants: analysts, quorum: 2 }).expect(201);
    expect(res.body).toEqual({ id: name, name, type, participants: analysts, quorum: 2, expiresAt: expect.any(String) });
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(86_390_000);
  });

  it('lets any identified caller create, also one that does not take part', async () => {
    const name = uniqueName();
    await create({ name, type: 'sum', participants: ['gina', 'hank'], quorum: 2 }, 'mallory', 'guest').expect(201);
    const res = await submit(t, 'mallory', name, { value: 1 }).expect(403);
    expect(res.body.error).toBe('NOT_A_PARTICIPANT');
  });

  it('refuses a taken name with 409 COMPUTATION_EXISTS, and the first definition stands', async () => {
    const name = await createComputation(t, 'count', ['gina', 'hank'], 2);
    const res = await create({ name, type: 'sum', participants: analysts, quorum: 3 }, 'hank').expect(409);
    expect(res.body).toEqual({ error: 'COMPUTATION_EXISTS', message: expect.any(String) });
    await submit(t, 'gina', name, { value: true }).expect(201);
    await submit(t, 'hank', name, { value: false }).expect(201);
    expect((await result(t, 'gina', name).expect(200)).body).toEqual({ result: 1, jws: expect.any(String) });
  });

  it.each([
    ['a name with a space', { ...valid, name: 'bad name' }, 'name'],
    ['an empty name', { ...valid, name: '' }, 'name'],
    ['a name of 65 characters', { ...valid, name: 'a'.repeat(65) }, 'name'],
    ['a numeric name', { ...valid, name: 42 }, 'name'],
    ['an unknown type', { ...valid, name: 'x', type: 'variance' }, 'type'],
    ['one participant', { ...valid, name: 'x', participants: ['gina'], quorum: 2 }, 'participants'],
    ['a participant listed twice', { ...valid, name: 'x', participants: ['gina', 'gina', 'hank'] }, 'participants.1'],
    ['a caller without the stats role', { ...valid, name: 'x', participants: ['gina', 'hank', 'mallory'] }, 'participants.2'],
    ['an unknown caller', { ...valid, name: 'x', participants: ['nobody', 'gina'] }, 'participants.0'],
    ['a non-string participant', { ...valid, name: 'x', participants: ['gina', 7] }, 'participants.1'],
    ['participants that are not a list', { ...valid, name: 'x', participants: 'gina,hank' }, 'participants'],
    ['a quorum of 1', { ...valid, name: 'x', quorum: 1 }, 'quorum'],
    ['a quorum above the participants', { ...valid, name: 'x', quorum: 4 }, 'quorum'],
    ['a fractional quorum', { ...valid, name: 'x', quorum: 2.5 }, 'quorum'],
    ['a quorum given as a string', { ...valid, name: 'x', quorum: '2' }, 'quorum'],
    ['a missing quorum', { name: 'x', type: 'sum', participants: analysts }, 'quorum'],
    ['an unknown field', { ...valid, name: 'x', extra: true }, ''],
  ])('answers 400 INVALID_BODY naming the field for %s', async (_what, body, field) => {
    const res = await create(body).expect(400);
    expect(res.body.error).toBe('INVALID_BODY');
    expect(res.body.details).toEqual(expect.arrayContaining([{ field, message: expect.any(String) }]));
  });

  it('answers 400 to a body that is not an object or not JSON, and creates nothing', async () => {
    expect((await create(['x']).expect(400)).body.error).toBe('INVALID_BODY');
    const malformed = await t.as('gina', ROLE).post('/stats/computations').set('Content-Type', 'application/json').send('{"name": "x",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('MALFORMED_JSON');
    await create({ ...valid, name: 'x' }).expect(201);
  });

  it('answers 413 to a body over the JSON limit', async () => {
    const res = await create({ ...valid, name: 'big', padding: 'x'.repeat((1 << 20) + 1) }).expect(413);
    expect(res.body.error).toBe('BODY_TOO_LARGE');
  });

  it('answers 429 COMPUTATION_LIMIT_REACHED with Retry-After once one caller has 100 live computations; others still can, and a delete frees a slot', async () => {
    for (let i = 0; i < 100; i++) await create({ ...valid, name: `ivan-${i}` }, 'ivan').expect(201);
    const res = await create({ ...valid, name: 'ivan-100' }, 'ivan').expect(429);
    expect(res.body.error).toBe('COMPUTATION_LIMIT_REACHED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(86_000);
    await create({ ...valid, name: 'hank-after-ivan' }, 'hank').expect(201);
    await t.as('ivan', 'analyst').delete('/stats/computations/ivan-0').expect(204);
    await create({ ...valid, name: 'ivan-100' }, 'ivan').expect(201);
  });

  it('lets the creator delete a computation at any time, a participant only before anyone submitted', async () => {
    const started = await createComputation(t, 'sum', ['gina', 'hank'], 2);
    await submit(t, 'gina', started, { value: 1 }).expect(201);
    await t
      .as('hank', 'analyst')
      .delete(`/stats/computations/${started}`)
      .expect(403, /NOT_ALLOWED_TO_DELETE/);
    await t.as('mallory', 'guest').delete(`/stats/computations/${started}`).expect(403);
    const fresh = await createComputation(t, 'sum', ['gina', 'hank'], 2);
    await t.as('hank', 'analyst').delete(`/stats/computations/${fresh}`).expect(204);
    await t
      .as('hank', 'analyst')
      .delete(`/stats/computations/${fresh}`)
      .expect(404, /COMPUTATION_NOT_FOUND/);
  });
});

describe('identity, unknown computations and methods', () => {
  it('answers 401 to anonymous callers on every route', async () => {
    const name = await createComputation(t, 'sum', analysts, 2);
    for (const res of [
      await t.anonymous.post('/stats/computations').send({ ...valid, name: uniqueName() }),
      await t.anonymous.post(`/stats/computations/${name}/submissions`).send({ value: 1 }),
      await t.anonymous.get(`/stats/computations/${name}/result`),
    ]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('UNAUTHENTICATED');
    }
  });

  it('answers 404 COMPUTATION_NOT_FOUND for an unknown name', async () => {
    const submitted = await submit(t, 'gina', 'no-such-computation', { value: 1 }).expect(404);
    expect(submitted.body.error).toBe('COMPUTATION_NOT_FOUND');
    const read = await result(t, 'gina', 'no-such-computation').expect(404);
    expect(read.body.error).toBe('COMPUTATION_NOT_FOUND');
  });

  it('answers 403 NOT_A_PARTICIPANT to callers outside the computation, analysts included', async () => {
    const name = await createComputation(t, 'sum', ['gina', 'hank'], 2);
    for (const [who, role] of [
      ['ivan', ROLE],
      ['mallory', 'guest'],
    ] as const) {
      expect((await t.as(who, role).post(`/stats/computations/${name}/submissions`).send({ value: 1 }).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
      expect((await t.as(who, role).get(`/stats/computations/${name}/result`).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    }
  });

  it('answers 405 with Allow to methods a route does not serve', async () => {
    const name = await createComputation(t, 'sum', analysts, 2);
    const list = await t.as('gina', ROLE).get('/stats/computations').expect(405);
    expect(list.headers.allow).toBe('POST');
    expect(list.body.error).toBe('METHOD_NOT_ALLOWED');
    expect((await t.as('gina', ROLE).get(`/stats/computations/${name}/submissions`).expect(405)).headers.allow).toBe('POST');
    expect((await t.as('gina', ROLE).delete(`/stats/computations/${name}/result`).expect(405)).headers.allow).toBe('GET, HEAD');
  });
});

describe('GET /openapi.json', () => {
  it('documents the stats routes with their bodies and error answers', async () => {
    const { body } = await t.anonymous.get('/openapi.json').expect(200);
    const create = body.paths['/stats/computations'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name', 'type', 'participants', 'quorum']);
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409']));
    const submission = body.paths['/stats/computations/{name}/submissions'].post;
    expect(submission.requestBody.content['application/json'].schema.oneOf).toHaveLength(3);
    expect(Object.keys(submission.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '409']));
    const read = body.paths['/stats/computations/{name}/result'].get;
    expect(Object.keys(read.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404', '409']));
  });
});
