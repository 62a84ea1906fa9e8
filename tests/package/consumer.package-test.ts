import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Cloister as a user gets it: `npm pack`, then the tarball installed into projects outside this
 * repository. Installs prefer npm's cache (the registry is reachable, but this repository's own
 * `npm ci` has put every dependency there already).
 */

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund'];

let tmp: string;
let tarball: string;
let packed: string[];

/** Runs a command in `cwd`; on failure the error carries its output, so the test report shows why. */
async function sh(cwd: string, file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
    return stdout;
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-consumer-'));
  const [info] = JSON.parse(await sh(ROOT, 'npm', ['pack', '--json', '--pack-destination', tmp])) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info!.filename);
  packed = info!.files.map((f) => f.path);
}, 5 * 60_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the published files (npm pack)', () => {
  it.each(['express', 'express/testing', 'client', 'attestation'])('hold the code and type declarations of dist/%s', (entry) => {
    expect(packed).toEqual(expect.arrayContaining([`dist/${entry}/index.js`, `dist/${entry}/index.d.ts`]));
  });

  it('hold the CLI, the enclave and parent programs, the native sources and the service template', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'dist/cli/index.js',
        'dist/enclave/main.js',
        'dist/parent/bridge/main.js',
        'binding.gyp',
        'transport/native/vsock.c',
        'templates/service/src/app.ts',
      ]),
    );
  });

  it('hold nothing a user does not need: no TypeScript sources, tests, benchmarks or source maps', () => {
    const extra = packed.filter(
      (path) =>
        /^(tests|bench|dist\/bench|dist\/tests)\//.test(path) ||
        /\.map$/.test(path) ||
        (/\.ts$/.test(path) && !/\.d\.ts$/.test(path) && !path.startsWith('templates/')),
    );
    expect(extra).toEqual([]);
  });
});

describe('an empty project that installs the tarball', () => {
  let project: string;

  beforeAll(async () => {
    project = join(tmp, 'empty-project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, allowScripts: { cloister: true } }));
    await sh(project, 'npm', [...NPM_INSTALL, tarball, 'express@5', 'supertest@7']);
    writeFileSync(
      join(project, 'app.js'),
      `const express = require('express');
const { identity, requireRole, errorHandler } = require('cloister/express');
module.exports = () => {
  const app = express();
  app.use(identity());
  app.get('/salary', requireRole('analyst'), (req, res) => res.json({ for: req.identity.name }));
  app.use(errorHandler(() => {}));
  return app;
};
`,
    );
    writeFileSync(
      join(project, 'app.test.js'),
      `const assert = require('node:assert/strict');
const { test } = require('node:test');
const { hostApp, serve } = require('cloister/testing');
const app = require('./app');

test('requireRole lets the role in, and answers 403 and 401 for the rest', async () => {
  const server = await serve(hostApp(app, { users: [] }, { log: () => {} }));
  try {
    const res = await server.as('alice', 'analyst').get('/salary').expect(200);
    assert.deepEqual(res.body, { for: 'alice' });
    await server.as('bob', 'guest').get('/salary').expect(403);
    await server.anonymous.get('/salary').expect(401);
  } finally {
    await server.close();
  }
});

// The helper stands in for the ingress: the app believes the two headers as they arrive. Behind the
// real ingress a client can never set them (they are stripped and replaced), which is why the app
// listens where only the ingress reaches it.
test('a forged identity header: half an identity is refused (400 BAD_IDENTITY), a whole one is believed', async () => {
  const server = await serve(hostApp(app, { users: [] }, { log: () => {} }));
  try {
    const res = await server.anonymous.get('/salary').set('X-OBLV-User-Name', 'alice').expect(400);
    assert.equal(res.body.error, 'BAD_IDENTITY');
    const forged = await server.as('bob', 'guest').get('/salary').set('X-OBLV-User-Role', 'analyst').expect(200);
    assert.deepEqual(forged.body, { for: 'bob' });
  } finally {
    await server.close();
  }
});
`,
    );
  }, 5 * 60_000);

  it('runs an Express app with requireRole under a supertest test written with cloister/testing', async () => {
    const out = await sh(project, process.execPath, ['--test', 'app.test.js']);
    expect(out).toMatch(/# pass 2/);
    expect(out).toMatch(/# fail 0/);
  });

  it('signs a result with cloister/testing, and exports createResultSigner and verifyResult', async () => {
    const script = `const { testResultSigner } = require('cloister/testing');
const { verifyResult } = require('cloister/client');
const { createResultSigner, RESULT_JWS_TYPE } = require('cloister/express');
testResultSigner().sign({ app: 'a', resource: 'r', participants: ['p'], result: 1 }).then((jws) =>
  console.log(typeof verifyResult, typeof createResultSigner, RESULT_JWS_TYPE, JSON.parse(Buffer.from(jws.split('.')[1], 'base64url')).result));`;
    expect((await sh(project, process.execPath, ['-e', script])).trim()).toBe('function function cloister-result+jws 1');
  });

  it('resolves every documented entry point, and nothing private', async () => {
    const script = `for (const m of ['cloister/express', 'cloister/testing', 'cloister/client', 'cloister/attestation']) require(m);
try { require('cloister/dist/enclave/boot'); console.log('private reachable'); } catch (e) { console.log(e.code); }`;
    expect((await sh(project, process.execPath, ['-e', script])).trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

describe('a service made by `cloister init`', () => {
  let service: string;

  beforeAll(async () => {
    const cli = join(tmp, 'empty-project', 'node_modules', '.bin', 'cloister');
    await sh(tmp, cli, ['init', 'my-service']);
    service = join(tmp, 'my-service');
    await sh(service, 'npm', [...NPM_INSTALL, tarball]);
  }, 5 * 60_000);

  it('depends on the package and passes its own npm test (TypeScript, supertest, cloister/testing)', async () => {
    expect(JSON.parse(readFileSync(join(service, 'package.json'), 'utf8'))).toMatchObject({
      name: 'my-service',
      dependencies: { cloister: expect.any(String) },
    });
    const out = await sh(service, 'npm', ['test']);
    expect(out).toMatch(/# pass 3/);
    expect(out).toMatch(/# fail 0/);
  });

  it('refuses to write into a directory that is not empty, and changes nothing there', async () => {
    const cli = join(tmp, 'empty-project', 'node_modules', '.bin', 'cloister');
    const before = readFileSync(join(service, 'package.json'), 'utf8');
    await expect(sh(tmp, cli, ['init', 'my-service'])).rejects.toThrow(/my-service is not empty/);
    expect(readFileSync(join(service, 'package.json'), 'utf8')).toBe(before);
  });
});
