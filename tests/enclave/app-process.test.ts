import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '../../contract/log';
import { type ResultsKeyMaterial, generateResultsKey } from '../../contract/signed-result';
import type * as AppProcessModule from '../../enclave/app-process';
import type { HostedApp } from '../../enclave/hosted-app';
import { waitFor } from '../helpers/network-harness';
import { type TestBuild, buildForTests } from './support/build';

/*
 * The app process as the supervisor runs it (AppProcess from a build, so that it forks the built
 * module host), with what it logs collected here: all the text that comes from the app must leave
 * without the app's secrets or the supervisor's credentials.
 */

const SECRET = 'hunter2hunter2';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
/** What must appear nowhere in the logs: the secrets, whole and line by line. */
const SECRET_TEXTS = [SECRET, PEM, 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'];

/** The supervisor's credentials, as the SDK's default chain would find them in its environment. */
const CREDENTIALS: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'Basic Y29udGFpbmVyLXRva2Vu',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials/secret-path',
};
const WEB_IDENTITY_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.web-identity-token.signature';

let build: TestBuild;
let tmp: string;
let AppProcess: typeof AppProcessModule.AppProcess;
let results: ResultsKeyMaterial;
const running: AppProcessModule.AppProcess[] = [];

beforeAll(async () => {
  build = buildForTests();
  tmp = mkdtempSync(join(tmpdir(), 'cloister-app-process-'));
  // From the build: it forks the module host beside it, which runs under plain node.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ({ AppProcess } = require(join(build.dir, 'enclave', 'app-process.js')) as typeof AppProcessModule);
  results = { privateJwk: (await generateResultsKey()).privateJwk, instance: '0'.repeat(32) };
});

afterAll(async () => {
  await Promise.all(running.map((app) => app.stop()));
  build?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

/** An AppProcess for `app`, with `secrets` in its environment and its redactor, logging into the returned array. */
function appProcess(app: HostedApp, secrets: Record<string, string> = {}) {
  const logs: LogEntry[] = [];
  const hosted = new AppProcess({
    app,
    config: { users: [] },
    address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    log: (entry) => logs.push(entry),
    env: secrets,
    secrets: Object.values(secrets),
    results,
  });
  running.push(hosted);
  return { hosted, logs };
}

/** A module app in the scratch directory. */
function moduleApp(name: string, source: string): HostedApp {
  writeFileSync(join(tmp, name), source);
  return { kind: 'module', path: join(tmp, name) };
}

describe("the app's start-up error", () => {
  const THROWS = `exports.default = () => { throw new Error('cannot connect to postgres://app:' + process.env.DB_PASSWORD + '@db with key ' + process.env.TLS_KEY); };`;

  it('reaches the app.failed line and the boot error (printed on standard error) without the secrets in it', async () => {
    const { hosted, logs } = appProcess(moduleApp('throws.js', THROWS), { DB_PASSWORD: SECRET, TLS_KEY: PEM });
    const refusal = (await hosted.start().catch((e: unknown) => e)) as Error & { code: string };
    expect(refusal.code).toBe('APP_START_FAILED');
    expect(refusal.message).toContain('postgres://app:[REDACTED]@db with key [REDACTED]');
    expect(logs.find((l) => l.event === 'app.failed')).toMatchObject({
      level: 'error',
      reason: 'cannot connect to postgres://app:[REDACTED]@db with key [REDACTED]',
    });
    for (const text of SECRET_TEXTS) expect(JSON.stringify(logs) + refusal.message).not.toContain(text);
  });

  it('reaches the app.exited line of a restart without the secret in it', async () => {
    const marker = join(tmp, 'started-once');
    const app = moduleApp(
      'throws-on-restart.js',
      `const fs = require('node:fs');
exports.default = () => {
  if (fs.existsSync(${JSON.stringify(marker)})) throw new Error('lost postgres://app:' + process.env.DB_PASSWORD + '@db');
  fs.writeFileSync(${JSON.stringify(marker)}, '');
  return (req, res) => res.end('ok');
};`,
    );
    const { hosted, logs } = appProcess(app, { DB_PASSWORD: SECRET });
    await hosted.start();
    const first = logs.find((l) => l.event === 'app.ready')!.pid as number;
    process.kill(first, 'SIGKILL');
    await waitFor(() => logs.some((l) => l.event === 'app.exited' && l.pid !== first), 'the restarted app to exit', 10_000);
    await hosted.stop();
    expect(logs.find((l) => l.event === 'app.exited' && l.pid !== first)).toMatchObject({ level: 'warn', reason: 'lost postgres://app:[REDACTED]@db' });
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });
});

describe("the supervisor's AWS credentials", () => {
  const saved: Record<string, string | undefined> = {};
  /** Besides the credentials: where the token is, which role it is for (not secret, but the supervisor's), and the region (the app's too). */
  const OTHERS = { AWS_WEB_IDENTITY_TOKEN_FILE: '', AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/supervisor', AWS_REGION: 'eu-west-1' };
  const names = [...Object.keys(CREDENTIALS), ...Object.keys(OTHERS)];
  /** Prints which of those variables the app has, then each credential as if it had found it (its parent's /proc/PID/environ). */
  const PRINTS = `console.log('variables: ' + ${JSON.stringify(names)}.filter((name) => name in process.env).join(' '));
for (const value of ${JSON.stringify([...Object.values(CREDENTIALS), WEB_IDENTITY_TOKEN])}) console.log('found ' + value);`;

  beforeAll(() => {
    for (const name of names) saved[name] = process.env[name];
    Object.assign(process.env, CREDENTIALS, OTHERS, { AWS_WEB_IDENTITY_TOKEN_FILE: join(tmp, 'web-identity-token') });
    writeFileSync(join(tmp, 'web-identity-token'), `${WEB_IDENTITY_TOKEN}\n`);
  });

  afterAll(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  /** What the app prints once its environment is built without the credentials and its output redacted. */
  const expected = ['variables: AWS_REGION', ...Array<string>(Object.keys(CREDENTIALS).length + 1).fill('found [REDACTED]')];

  /** What the app printed, once it has printed all of it. */
  async function printed(logs: LogEntry[]): Promise<string[]> {
    await waitFor(() => logs.filter((l) => l.event === 'app.stdout').length === expected.length, 'the lines the app prints', 10_000);
    return logs.filter((l) => l.event === 'app.stdout').map((l) => String(l.line));
  }

  it('are not in the environment of an app given as a module, and are taken out of what it prints', async () => {
    const { hosted, logs } = appProcess(moduleApp('prints-environment.js', `${PRINTS}\nexports.default = () => (req, res) => res.end('ok');`));
    await hosted.start();
    expect(await printed(logs)).toEqual(expected);
  });

  it('are not in the environment of an app given as a command, and are taken out of what it prints', async () => {
    const server = join(tmp, 'prints-environment-server.js');
    writeFileSync(
      server,
      `${PRINTS}
const { port } = new URL(process.env.CLOISTER_LISTEN);
require('node:http').createServer((req, res) => res.end('ok')).listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));`,
    );
    const { hosted, logs } = appProcess({ kind: 'command', argv: [process.execPath, server] });
    await hosted.start();
    expect(await printed(logs)).toEqual(expected);
  });
});
