import { fixtureApp } from './helpers/fixtures';
import { serve, type TestServer } from '../express/testing';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

describe('GET /hello', () => {
  it('greets the caller by name and role', async () => {
    const res = await t.as('alice', 'bidder').get('/hello').expect(200);
    expect(res.body).toEqual({ message: 'Hello, alice! You are calling as bidder.', name: 'alice', role: 'bidder' });
  });

  it('answers 401 with a JSON error to an anonymous caller', async () => {
    const res = await t.anonymous.get('/hello').expect(401);
    expect(res.body).toEqual({ error: 'UNAUTHENTICATED', message: expect.any(String) });
  });

  it('answers 405 with Allow to another method', async () => {
    const res = await t.as('alice', 'bidder').post('/hello').expect(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body.error).toBe('METHOD_NOT_ALLOWED');
  });
});
