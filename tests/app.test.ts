import { execFileSync } from 'node:child_process';
import { fixtureApp } from './helpers/fixtures';
import { serve, type TestServer } from '../express/testing';

let t: TestServer;
let logs: ReturnType<typeof fixtureApp>['logs'];
beforeAll(async () => {
  const built = fixtureApp();
  logs = built.logs;
  t = await serve(built.app);
});
afterAll(() => t.close());

describe('createApp', () => {
  it('serves an OpenAPI 3.1 document listing every route of the contract', async () => {
    const res = await t.anonymous.get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const routes = Object.entries(res.body.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /hello',
        'POST /millionaire/rounds',
        'POST /millionaire/rounds/{round}/wealth',
        'GET /millionaire/rounds/{round}/result',
        'POST /psi/sessions',
        'POST /psi/sessions/{session}/set',
        'GET /psi/sessions/{session}/result',
        'POST /stats/computations',
        'POST /stats/computations/{name}/submissions',
        'GET /stats/computations/{name}/result',
        'GET /outbound',
        'GET /openapi.json',
      ]),
    );
  });

  it('documents request bodies with the schemas that validate them', async () => {
    const { body } = await t.anonymous.get('/openapi.json');
    const create = body.paths['/millionaire/rounds'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(create.properties).sort()).toEqual(['id', 'participants']);
    const wealth = body.paths['/millionaire/rounds/{round}/wealth'].post.requestBody.content['application/json'].schema;
    expect(wealth.required).toEqual(['wealth']);
    expect(body.paths['/millionaire/rounds'].post.requestBody.required).toBe(false);
    expect(body.paths['/millionaire/rounds/{round}/wealth'].post.requestBody.required).toBe(true);
  });

  it('leaves request lines to the ingress (which samples them by configuration), and logs no query string or body', async () => {
    await t.as('alice', 'bidder').get('/hello?token=s3cr3t-query').expect(200);
    await t
      .as('alice', 'bidder')
      .post('/millionaire/rounds')
      .send({ participants: ['carol', 'bob'], id: 'log-check' })
      .expect(201);
    expect(logs.lines.filter((l) => l.event === 'request')).toEqual([]);
    // What the app does log: the round it opened, with how many take part, not who.
    expect(logs.lines).toContainEqual({ level: 'info', event: 'millionaire.round_created', round: 'log-check', participants: 2, by: 'alice' });
    expect(logs.text()).not.toContain('s3cr3t-query');
    expect(logs.text()).not.toMatch(/carol|bob/);
  });

  it('is an app module after a build (CommonJS): a default factory and a config schema', () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', '.cloister/test-build'], { stdio: 'pipe' });
    const script = [
      "const m = require('./.cloister/test-build/examples');",
      "const { hostApp } = require('./.cloister/test-build/express/testing');",
      'const app = hostApp(m, { users: [] }, { log: () => {} });',
      'console.log(typeof m.default, typeof m.configSchema.safeParse, typeof app, typeof app.listen)',
    ].join(' ');
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('function function function function');
  });
});
