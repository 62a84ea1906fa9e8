import type { Response } from 'supertest';
import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { BIDDER, result, submit } from './support';

const { app, logs } = fixtureApp();
let t: TestServer;
beforeAll(async () => {
  t = await serve(app);
});
afterAll(() => t.close());

/** Amounts with digit runs that appear nowhere else, in every form the API accepts or refuses. */
const accepted = { alice: '73519.2846150392', bob: 86420.97531, carol: '111222333444555666777.888999' };
const refused = ['-31415926.5358', '27182818e5', '9'.repeat(150), '16180339.88x', '-0.0000577215664'];
// Runs of at least nine characters, so timings and ETags in the logs cannot match by chance.
const secrets = [
  '73519.2846150392',
  '2846150392',
  '86420.97531',
  '111222333444555666777',
  '666777.888999',
  '31415926.5358',
  '27182818',
  '999999999',
  '16180339',
  '0000577215664',
];

describe('no submitted amount appears anywhere', () => {
  it('in any response body or header, error or log line, for accepted and refused amounts alike', async () => {
    const responses: Response[] = [];
    const keep = async (r: Promise<Response>) => responses.push(await r);

    for (const wealth of refused) await keep(submit(t, 'default', 'alice', wealth));
    await keep(submit(t, 'default', 'alice', '-31415926.5358', true));
    await keep(submit(t, 'default', 'alice', '{"value": 16180339.88}', true));
    await keep(submit(t, 'default', 'alice', '27182818.5', true).set('Content-Type', 'text/plain'));
    await keep(t.as('alice', BIDDER).post('/millionaire/rounds/default/wealth').set('Content-Type', 'application/json').send('{"wealth": 31415926.5358'));
    await keep(t.as('mallory', 'guest').post('/millionaire/rounds/default/wealth').send({ wealth: '16180339.88' }));
    await keep(submit(t, 'no-such-round', 'alice', '16180339.88'));
    await keep(result(t, 'default', 'alice'));

    await keep(submit(t, 'default', 'alice', accepted.alice));
    await keep(submit(t, 'default', 'bob', accepted.bob));
    await keep(result(t, 'default', 'bob'));
    await keep(submit(t, 'default', 'alice', '31415926.5358'));
    await keep(submit(t, 'default', 'carol', accepted.carol, true));
    for (const name of ['alice', 'bob', 'carol']) await keep(result(t, 'default', name));
    await keep(submit(t, 'default', 'bob', '27182818'));

    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 415, 400, 403, 404, 409, 201, 201, 409, 409, 201, 200, 200, 200, 409]);
    expect(responses.at(-2)!.body).toEqual({ richest: ['carol'], jws: expect.any(String) });

    const seen = [...responses.map((r) => `${JSON.stringify(r.headers)}\n${r.text}`), logs.text()].join('\n');
    // The lines logged next to each accepted amount, where a leak would be likeliest (request lines are the ingress's).
    expect(logs.lines.filter((l) => l.event === 'millionaire.wealth_submitted')).toHaveLength(3);
    for (const secret of secrets) expect(seen).not.toContain(secret);
  });
});
