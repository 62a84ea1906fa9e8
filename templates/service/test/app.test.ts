import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, hostApp, serve } from 'cloister/testing';
import * as app from '../src/app';

/** A deployment as cloister.config.json describes one: who may call, with which role. */
const deployment = {
  users: [
    { name: 'alice', role: 'member', key: `sha256:${'a'.repeat(64)}` },
    { name: 'eve', role: 'guest', key: `sha256:${'e'.repeat(64)}` },
  ],
};

describe('GET /hello', () => {
  let server: TestServer;
  before(async () => {
    server = await serve(hostApp(app, deployment, { log: () => {} }));
  });
  after(() => server.close());

  it('greets a caller with the role', async () => {
    const res = await server.as('alice', 'member').get('/hello').expect(200);
    assert.deepEqual(res.body, { message: 'Hello, alice!', role: 'member' });
  });

  it('refuses a caller with another role (403) and an anonymous one (401)', async () => {
    await server.as('eve', 'guest').get('/hello').expect(403);
    await server.anonymous.get('/hello').expect(401);
  });
});

describe('the configuration block', () => {
  it('is checked by the app schema: an unknown setting is refused, naming it', () => {
    assert.throws(() => hostApp(app, { ...deployment, apps: { rol: 'member' } }), /apps: Unrecognized key/);
  });
});
