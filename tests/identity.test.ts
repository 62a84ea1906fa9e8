import express from 'express';
import fc from 'fast-check';
import { HttpError, identity, requireIdentity, requireRole } from '../express';
import { errorHandler } from '../express/error-handler';
import { silentLogger } from '../express/request-log';
import { rawRequest } from './helpers/raw-http';
import { serve, type TestServer } from '../express/testing';

/** A bare Express app using the public middleware the way a developer would. */
function developerApp() {
  const app = express();
  app.use(identity());
  app.get('/whoami', (req, res) => {
    res.json({ identity: req.identity ?? null });
  });
  app.get('/members', requireIdentity(), (req, res) => {
    res.json({ name: req.identity!.name });
  });
  app.get('/bids', requireRole('bidder', 'auctioneer'), (req, res) => {
    res.json({ role: req.identity!.role });
  });
  app.use(errorHandler(silentLogger));
  return app;
}

let t: TestServer;
let port: number;
beforeAll(async () => {
  t = await serve(developerApp());
  port = Number(new URL(t.url).port);
});
afterAll(() => t.close());

const raw = (headers: string) => rawRequest(port, `GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`);

describe('identity()', () => {
  it('sets req.identity from the two headers', async () => {
    const res = await t.as('alice', 'bidder').get('/whoami').expect(200);
    expect(res.body.identity).toEqual({ name: 'alice', role: 'bidder' });
  });

  it('leaves an anonymous caller without identity', async () => {
    const res = await t.anonymous.get('/whoami').expect(200);
    expect(res.body.identity).toBeNull();
  });

  it('reads the headers case-insensitively', async () => {
    const res = await raw('x-oblv-user-name: alice\r\nX-OBLV-USER-ROLE: bidder\r\n');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).identity).toEqual({ name: 'alice', role: 'bidder' });
  });

  it.each([
    ['only a name', 'X-OBLV-User-Name: alice\r\n'],
    ['only a role', 'X-OBLV-User-Role: bidder\r\n'],
    ['an empty name', 'X-OBLV-User-Name: \r\nX-OBLV-User-Role: bidder\r\n'],
    ['a repeated name', 'X-OBLV-User-Name: alice\r\nX-OBLV-User-Name: mallory\r\nX-OBLV-User-Role: bidder\r\n'],
    ['a repeated role, in another case', 'X-OBLV-User-Name: alice\r\nX-OBLV-User-Role: bidder\r\nx-oblv-user-role: admin\r\n'],
    ['a tab inside the name', 'X-OBLV-User-Name: al\tice\r\nX-OBLV-User-Role: bidder\r\n'],
    ['obs-text bytes', 'X-OBLV-User-Name: al\xe9ice\r\nX-OBLV-User-Role: bidder\r\n'],
    ['a 129-character name', `X-OBLV-User-Name: ${'a'.repeat(129)}\r\nX-OBLV-User-Role: bidder\r\n`],
  ])('answers 400 BAD_IDENTITY to %s, never trusting it', async (_what, headers) => {
    const res = await rawRequest(port, Buffer.from(`GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`, 'latin1'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'BAD_IDENTITY', message: expect.any(String) });
  });

  it('accepts a 128-character name', async () => {
    const res = await t.as('a'.repeat(128), 'bidder').get('/whoami').expect(200);
    expect(res.body.identity.name).toHaveLength(128);
  });

  it('passes any printable name and role through unchanged (property)', async () => {
    const printable = fc
      .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 128 })
      .filter((s) => s.trim() === s && s.length > 0);
    await fc.assert(
      fc.asyncProperty(printable, printable, async (name, role) => {
        const res = await t.as(name, role).get('/whoami');
        expect(res.status).toBe(200);
        expect(res.body.identity).toEqual({ name, role });
      }),
      { numRuns: 50 },
    );
  });
});

describe('requireIdentity()', () => {
  it('lets an identified caller through', async () => {
    await t.as('bob', 'guest').get('/members').expect(200, { name: 'bob' });
  });

  it('answers 401 with {error, message} otherwise', async () => {
    const res = await t.anonymous.get('/members').expect(401);
    expect(res.body).toEqual({ error: 'UNAUTHENTICATED', message: expect.stringMatching(/\S/) });
  });
});

describe('requireRole()', () => {
  it('lets each listed role through', async () => {
    await t.as('alice', 'bidder').get('/bids').expect(200, { role: 'bidder' });
    await t.as('olga', 'auctioneer').get('/bids').expect(200, { role: 'auctioneer' });
  });

  it('answers 403 to another role and 401 to nobody', async () => {
    const res = await t.as('mallory', 'guest').get('/bids').expect(403);
    expect(res.body).toEqual({ error: 'FORBIDDEN_ROLE', message: expect.stringContaining('bidder') });
    await t.anonymous.get('/bids').expect(401);
  });

  it('does not match roles by prefix or case', async () => {
    await t.as('mallory', 'Bidder').get('/bids').expect(403);
    await t.as('mallory', 'bidders').get('/bids').expect(403);
  });

  it('refuses to be built without roles', () => {
    expect(() => requireRole()).toThrow(TypeError);
  });
});

it('exports HttpError for apps that throw their own errors', () => {
  const e = new HttpError(418, 'TEAPOT', 'I am a teapot.');
  expect([e.status, e.code, e.message]).toEqual([418, 'TEAPOT', 'I am a teapot.']);
});
