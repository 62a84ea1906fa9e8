import express from 'express';
import { z } from 'zod';
import { NonNegativeDecimal } from '../examples/decimal';
import { ApiRouter } from '../express/api-router';
import { errorHandler, notFoundHandler } from '../express/error-handler';
import { identity } from '../express/identity';
import { capturingLogger } from './helpers/fixtures';
import { rawRequest } from './helpers/raw-http';
import { serve, type TestServer } from '../express/testing';

const logs = capturingLogger();
const api = new ApiRouter('/things', 64)
  .post(
    '/',
    {
      summary: 'Create a thing.',
      body: z.strictObject({ name: z.string().max(10), tags: z.array(z.string()).max(2).optional(), amount: NonNegativeDecimal.optional() }),
      responses: { 201: { description: 'Created.' } },
    },
    (_req, res, { body }) => {
      res.status(201).json({ name: body.name, amount: body.amount?.toFixed() ?? null });
    },
  )
  .get('/boom', { summary: 'Fails.', anonymous: true, responses: {} }, () => {
    throw new Error('secret internal detail: db password hunter2');
  })
  .get('/:id', { summary: 'Read a thing.', responses: {} }, (req, res) => {
    res.json({ id: req.params.id });
  });

let t: TestServer;
beforeAll(async () => {
  const app = express();
  app.use(identity());
  app.use(api.prefix, api.router);
  app.use(notFoundHandler());
  app.use(errorHandler(logs.log));
  t = await serve(app);
});
afterAll(() => t.close());

const alice = () => t.as('alice', 'bidder');
const port = () => Number(new URL(t.url).port);

describe('schema-validated routes', () => {
  it('hands the handler the validated body', async () => {
    await alice().post('/things').send({ name: 'x' }).expect(201, { name: 'x', amount: null });
  });

  it('answers 401 before looking at the body of an anonymous request', async () => {
    const res = await t.anonymous.post('/things').send('{not json').set('Content-Type', 'application/json').expect(401);
    expect(res.body.error).toBe('UNAUTHENTICATED');
  });

  it('answers 400 with field-level detail for an invalid body', async () => {
    const res = await alice()
      .post('/things')
      .send({ name: 'x'.repeat(11), tags: ['a', 'b', 'c'], extra: 1 })
      .expect(400);
    expect(res.body.error).toBe('INVALID_BODY');
    expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['', 'name', 'tags']);
    for (const d of res.body.details) expect(d.message).toEqual(expect.any(String));
  });

  it('answers 400 MALFORMED_JSON without quoting the body', async () => {
    const res = await alice().post('/things').set('Content-Type', 'application/json').send('{"name": "x", "amount": 12z}').expect(400);
    expect(res.body.error).toBe('MALFORMED_JSON');
    expect(res.body.message).not.toMatch(/12|z/);
  });

  it('refuses duplicate keys, which different parsers resolve differently', async () => {
    const res = await alice().post('/things').set('Content-Type', 'application/json').send('{"name": "a", "name": "b"}').expect(400);
    expect(res.body.error).toBe('MALFORMED_JSON');
  });

  it('refuses a __proto__ key instead of polluting prototypes', async () => {
    const res = await alice().post('/things').set('Content-Type', 'application/json').send('{"name": "a", "__proto__": {"admin": true}}').expect(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(['']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('answers 400 to a body that is not UTF-8', async () => {
    const body = Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xff]), Buffer.from('"}')]);
    const head =
      'POST /things HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n' +
      `X-OBLV-User-Name: alice\r\nX-OBLV-User-Role: bidder\r\nContent-Length: ${body.length}\r\n\r\n`;
    const res = await rawRequest(port(), Buffer.concat([Buffer.from(head), body]));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toBe('MALFORMED_JSON');
  });

  it('keeps JSON numbers exact', async () => {
    const res = await alice().post('/things').set('Content-Type', 'application/json').send('{"name":"x","amount":12345678901234567.000001}').expect(201);
    expect(res.body.amount).toBe('12345678901234567.000001');
  });

  it('answers 413 to a declared body over the limit', async () => {
    const res = await alice()
      .post('/things')
      .send({ name: 'x', tags: ['y'.repeat(100)] })
      .expect(413);
    expect(res.body.error).toBe('BODY_TOO_LARGE');
  });

  it('answers 413 to a chunked body that grows over the limit', async () => {
    const chunk = '{"name":"' + 'x'.repeat(100) + '"}';
    const res = await rawRequest(
      port(),
      'POST /things HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        'X-OBLV-User-Name: alice\r\nX-OBLV-User-Role: bidder\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    expect(res.status).toBe(413);
  });

  it('answers 415 to a body that is not JSON', async () => {
    const res = await alice().post('/things').set('Content-Type', 'text/plain').send('name=x').expect(415);
    expect(res.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 405 with Allow to a known path and another method', async () => {
    const res = await alice().delete('/things').expect(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('answers 404 as JSON for an unknown path', async () => {
    const res = await alice().get('/nothing-here').expect(404);
    expect(res.body).toEqual({ error: 'NOT_FOUND', message: expect.any(String) });
  });

  it('answers 500 without internals, and logs the error for the operator', async () => {
    const res = await t.anonymous.get('/things/boom').expect(500);
    expect(res.body).toEqual({ error: 'INTERNAL', message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect(logs.lines.some((l) => l.event === 'unhandled')).toBe(true);
  });

  it('answers 400 as JSON for a malformed %-escape in the path', async () => {
    const res = await alice().get('/things/%E0%A4%A').expect(400);
    expect(res.body.error).toBe('BAD_REQUEST');
  });
});

describe('OpenAPI from the same schemas', () => {
  it('documents path, body schema, responses and the implicit 400/401', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form JSON, read field by field below
    const paths = api.openApiPaths() as Record<string, Record<string, any>>;
    expect(Object.keys(paths)).toEqual(['/things', '/things/boom', '/things/{id}']);
    expect(paths['/things/{id}']!.get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    const post = paths['/things']!.post;
    expect(post.requestBody.content['application/json'].schema.properties.name).toEqual({ type: 'string', maxLength: 10 });
    expect(Object.keys(post.responses).sort()).toEqual(['201', '400', '401']);
    expect(paths['/things/boom']!.get.security).toEqual([]);
  });
});
