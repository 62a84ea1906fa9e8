import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootFromPem } from '../../attestation';
import { DevNsm } from '../../attestation/dev';
import { type ClientIdentity, generateIdentity, loadIdentity } from '../../client/identity';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { type LogSink, startLogSink } from '../../parent/log-sink';
import { PassThrough } from 'node:stream';
import { parseAddress } from '../../transport/address';
import { waitFor } from '../helpers/network-harness';
import { FakeKms } from './fake-kms';
import { type TestBuild, buildForTests } from './support/build';
import { call, ingressAgent } from './support/https';
import { type SupervisorProcess, startSupervisor } from './support/supervisor';

/*
 * The log channel end to end, as local mode runs it: the real supervisor process with
 * `--log-sink unix://…`, the app it hosts writing to its standard output and error, and the
 * parent's log sink (its own process, or in this process where the test needs to start it late).
 */

const PCR0 = createHash('sha384').update('log channel test image').digest('hex');
const SECRET = 'sk_live_Tr0ub4dor&3 "quoted"';
const onLinux = process.platform === 'linux' ? it : it.skip;

/** An app that prints and logs what it is told to, its secret included, on each request. */
const APP = `
exports.default = (config, context) => (req, res) => {
  if (req.url === '/print') {
    const secret = process.env.DB_PASSWORD ?? 'none';
    console.log('app line for ' + req.headers['x-oblv-user-name']);
    console.log('the secret is ' + secret + ' and as JSON ' + JSON.stringify({ password: secret }));
    console.error('to stderr: ' + secret.slice(0, 4) + secret.slice(4));
    context.log({ level: 'info', event: 'printed' });
    context.log({ level: 'warn', event: 'quota.near', left: 3 });
    context.log({ level: 'error', event: 'payment.failed', code: 'E42', detail: 'with ' + secret, dbPassword: secret });
  }
  res.end('ok');
};
`;

/** The app's own entries (context.log) that reached the sink: level and entry. */
const appEntries = (text: string) =>
  linesOf(text)
    .filter((l) => l.event === 'app.log')
    .map((l) => [l.level, l.entry]);

let build: TestBuild;
let tmp: string;
let alice: ClientIdentity;
let fake: FakeKms;
let keyLine: string;
const supervisors: SupervisorProcess[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  build = buildForTests();
  tmp = mkdtempSync(join(tmpdir(), 'cloister-log-channel-'));
  writeFileSync(join(tmp, 'app.js'), APP);
  ({ keyLine } = await generateIdentity('alice', join(tmp, 'alice')));
  alice = loadIdentity(join(tmp, 'alice'));
  const root = (await DevNsm.open({ dir: join(tmp, 'dev') })).pki.rootCertificatePem;
  fake = new FakeKms(rootFromPem(root), { imageSha384: PCR0, pcr16: 'unset' });
  await fake.start();
}, 20_000);

afterAll(async () => {
  await Promise.all(supervisors.map((sv) => sv.stop()));
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await fake?.stop();
  build?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

/** The supervisor's environment in these tests: placeholders for the credentials the fake KMS does not check. */
const supervisorEnv = () => ({ ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });

/**
 * Starts a supervisor serving APP (or the app `extra` names, with `--app-module` or after `--`)
 * with `document`, its logs sent to `sink`; resolves with the process and its ready file.
 */
function launch(name: string, document: object, sink: string, extra: string[], env: NodeJS.ProcessEnv): { sv: SupervisorProcess; readyFile: string } {
  const configPath = join(tmp, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(document));
  const readyFile = join(tmp, `${name}.ready`);
  const args = ['--config', configPath, '--nsm', 'dev', '--dev-dir', join(tmp, 'dev'), '--pcr0', PCR0, '--ingress', 'tcp://127.0.0.1:0'];
  const app = extra.includes('--') || extra.includes('--app-module') ? [] : ['--app-module', join(tmp, 'app.js')];
  const sv = startSupervisor(build.dir, [...args, ...app, '--ready-file', readyFile, '--log-sink', sink, ...extra], env);
  supervisors.push(sv);
  return { sv, readyFile };
}

/** A supervisor as {@link launch} starts it, once ready, with the ingress port. */
async function supervisor(name: string, document: object, sink: string, ...extra: string[]): Promise<{ sv: SupervisorProcess; port: number }> {
  const { sv, readyFile } = launch(name, document, sink, extra, supervisorEnv());
  let exited = false;
  void sv.exited.then(() => (exited = true));
  await waitFor(() => existsSync(readyFile) || exited, 'the supervisor ready', 20_000);
  if (exited) throw new Error(`the supervisor exited: ${sv.stderr()}`);
  const ingress = parseAddress(readFileSync(readyFile, 'utf8').trim());
  return { sv, port: (ingress as { port: number }).port };
}

/** The parent's log sink as its own process (parent/log-sink/main.js), and what it wrote to its standard output. */
async function sinkProcess(path: string): Promise<{ output(): string }> {
  const child = spawn(process.execPath, [join(build.dir, 'parent', 'log-sink', 'main.js'), '--listen', `unix://${path}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await waitFor(() => output.includes('log_sink_listening'), 'the log sink listening', 10_000);
  return { output: () => output };
}

const linesOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A configuration with alice and the secret DB_PASSWORD, which the fake KMS releases to this code with it. */
function configWithSecret() {
  const document = {
    users: [{ name: 'alice', role: 'member', key: keyLine }],
    secrets: [{ name: 'DB_PASSWORD', ciphertext: fake.encrypt(SECRET) }],
    kms: { region: 'us-east-1', endpoint: fake.endpoint },
  };
  fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
  return document;
}

describe('logs through the log channel (local mode: a unix socket for vsock port 5003)', () => {
  onLinux(
    "carries the supervisor's, the ingress's and the app's lines to the parent's sink, and never the app's secret",
    async () => {
      const sinkPath = join(tmp, 'sink.sock');
      const sink = await sinkProcess(sinkPath);
      const document = configWithSecret();
      const { sv, port } = await supervisor('with-secret', document, `unix://${sinkPath}`);
      const agent = ingressAgent(alice);
      try {
        expect(await call(port, '/print', agent)).toMatchObject({ status: 200, body: 'ok' });
      } finally {
        agent.destroy();
      }

      await waitFor(() => sink.output().includes('to stderr'), "the app's standard error line at the sink", 10_000);
      await waitFor(() => linesOf(sink.output()).some((l) => l.event === 'request'), "the ingress's request line at the sink");
      const lines = linesOf(sink.output());
      expect(lines.find((l) => l.event === 'ready')).toMatchObject({ level: 'info', config: configDigest(document).toString('hex') });
      expect(lines.find((l) => l.event === 'secret.released')).toMatchObject({ name: 'DB_PASSWORD' });
      expect(lines.find((l) => l.event === 'request')).toMatchObject({ method: 'GET', path: '/print', status: 200, caller: 'alice' });
      const app = lines.filter((l) => l.event === 'app.stdout' || l.event === 'app.stderr').map((l) => [l.event, l.level, l.line]);
      expect(app).toEqual([
        ['app.stdout', 'info', 'app line for alice'],
        ['app.stdout', 'info', 'the secret is [REDACTED] and as JSON {"password":"[REDACTED]"}'],
        ['app.stderr', 'warn', 'to stderr: [REDACTED]'],
      ]);
      // The app's own entries keep their levels, and stay the app's.
      await waitFor(() => appEntries(sink.output()).length === 3, "the app's own three entries at the sink", 10_000);
      expect(appEntries(sink.output())).toEqual([
        ['info', { event: 'printed' }],
        ['warn', { event: 'quota.near', left: 3 }],
        ['error', { event: 'payment.failed', code: 'E42', detail: 'with [REDACTED]', dbPassword: '[REDACTED]' }],
      ]);
      // The secret reached the app (it printed it), and nowhere else: not the sink, not stdout or stderr.
      for (const text of [sink.output(), JSON.stringify(sv.lines), sv.stderr()]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(JSON.stringify(SECRET).slice(1, -1));
      }
      // With a sink, nothing is left on the supervisor's standard output.
      expect(sv.lines).toEqual([]);

      await sv.stop();
      await waitFor(() => linesOf(sink.output()).some((l) => l.event === 'stopped'), 'the last line, sent before the supervisor exits');
    },
    40_000,
  );

  onLinux(
    'never carries out the private results key, even when an app given as a command prints its environment',
    async () => {
      writeFileSync(
        join(tmp, 'leaky.js'),
        `const http = require('node:http');
const key = process.env.CLOISTER_RESULTS_KEY;
http.createServer((req, res) => { console.log('my key: ' + key); console.log(JSON.parse(key).privateJwk.d); res.end('ok'); })
  .listen(process.env.CLOISTER_LISTEN.slice('unix://'.length));`,
      );
      const sinkPath = join(tmp, 'leaky.sock');
      const sink = await sinkProcess(sinkPath);
      const document = { users: [{ name: 'alice', role: 'member', key: keyLine }] };
      const { port } = await supervisor('leaky', document, `unix://${sinkPath}`, '--', process.execPath, join(tmp, 'leaky.js'));
      const agent = ingressAgent(alice);
      try {
        expect(await call(port, '/', agent)).toMatchObject({ status: 200, body: 'ok' });
      } finally {
        agent.destroy();
      }
      await waitFor(() => linesOf(sink.output()).filter((l) => l.event === 'app.stdout').length === 2, "the app's two lines at the sink");
      const printed = linesOf(sink.output())
        .filter((l) => l.event === 'app.stdout')
        .map((l) => l.line as string);
      expect(printed[0]).toMatch(/^my key: \{"privateJwk":\{.*"d":"\[REDACTED\]"/);
      expect(printed[1]).toBe('[REDACTED]');
    },
    40_000,
  );

  onLinux(
    "never carries out a secret in the app's start-up error: neither to the sink nor on the supervisor's standard error",
    async () => {
      writeFileSync(
        join(tmp, 'throws.js'),
        `exports.default = () => { throw new Error('cannot connect to postgres://app:' + process.env.DB_PASSWORD + '@db'); };`,
      );
      const sinkPath = join(tmp, 'throws.sock');
      const sink = await sinkProcess(sinkPath);
      const document = configWithSecret();
      const { sv } = launch('throws', document, `unix://${sinkPath}`, ['--app-module', join(tmp, 'throws.js')], supervisorEnv());

      expect((await sv.exited).code).toBe(1);
      await waitFor(() => linesOf(sink.output()).some((l) => l.event === 'failed'), "the supervisor's failed line at the sink", 10_000);
      const reported = 'cannot connect to postgres://app:[REDACTED]@db';
      expect(linesOf(sink.output()).find((l) => l.event === 'app.failed')).toMatchObject({ level: 'error', reason: reported });
      expect(linesOf(sink.output()).find((l) => l.event === 'failed')!.reason).toContain(reported);
      expect(sv.stderr()).toContain(reported);
      for (const text of [sink.output(), sv.stderr()]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(JSON.stringify(SECRET).slice(1, -1));
      }
    },
    40_000,
  );

  onLinux(
    "keeps the supervisor's AWS credentials from the app: not in its environment, and taken out of what it prints when it finds them",
    async () => {
      const credentials = {
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE',
      };
      // Its own environment, then its parent's, which the same user may read.
      writeFileSync(
        join(tmp, 'environment.js'),
        `console.log(JSON.stringify(process.env));
console.log(require('node:fs').readFileSync('/proc/' + process.ppid + '/environ', 'utf8').split('\\0').join(' '));
exports.default = () => (req, res) => res.end('ok');`,
      );
      const sinkPath = join(tmp, 'environment.sock');
      const sink = await sinkProcess(sinkPath);
      const document = { users: [{ name: 'alice', role: 'member', key: keyLine }] };
      launch('environment', document, `unix://${sinkPath}`, ['--app-module', join(tmp, 'environment.js')], { ...process.env, ...credentials });

      const printed = () => linesOf(sink.output()).filter((l) => l.event === 'app.stdout');
      await waitFor(() => printed().length === 2, 'the two lines the app prints', 20_000);
      const [own, parents] = printed().map((l) => l.line as string);
      for (const name of Object.keys(credentials)) {
        expect(JSON.parse(own!)).not.toHaveProperty(name);
        expect(parents).toContain(`${name}=[REDACTED]`);
      }
      for (const value of Object.values(credentials)) expect(sink.output()).not.toContain(value);
    },
    40_000,
  );

  onLinux(
    "sends only what the configuration's logging asks for: warn and above, no request lines",
    async () => {
      const sinkPath = join(tmp, 'quiet.sock');
      const output = new PassThrough();
      let text = '';
      output.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      const sink = await startLogSink({ listen: { kind: 'unix', path: sinkPath }, output, log: () => {} });
      try {
        const document = { users: [{ name: 'alice', role: 'member', key: keyLine }], logging: { level: 'warn', requests: 'off' } };
        const { port } = await supervisor('quiet', document, `unix://${sinkPath}`);
        const agent = ingressAgent(alice);
        try {
          for (let i = 0; i < 3; i++) expect(await call(port, '/print', agent)).toMatchObject({ status: 200 });
        } finally {
          agent.destroy();
        }
        await waitFor(() => linesOf(text).filter((l) => l.event === 'app.stderr').length === 3, "the app's three standard error lines");
        // context.log's warnings and errors are sent, at their own level; its info entries are not.
        await waitFor(() => appEntries(text).length === 6, "the app's own warnings and errors", 10_000);
        expect(appEntries(text).map(([level]) => level)).toEqual(['warn', 'error', 'warn', 'error', 'warn', 'error']);
        // The supervisor's own ready line (config digest, PCR16, instance) is always sent; nothing else below warn.
        expect(
          linesOf(text)
            .filter((l) => l.level === 'info')
            .map((l) => l.event),
        ).toEqual(['ready']);
      } finally {
        await sink.close();
      }
    },
    40_000,
  );

  onLinux(
    'serves requests at full speed while the sink is not there, and reports what it dropped once the sink comes',
    async () => {
      const sinkPath = join(tmp, 'late.sock');
      const document = { users: [{ name: 'alice', role: 'member', key: keyLine }] };
      const { port } = await supervisor('no-sink', document, `unix://${sinkPath}`, '--log-buffer-bytes', '4096');
      const agent = ingressAgent(alice, 8);
      const started = Date.now();
      try {
        const outcomes = await Promise.all(Array.from({ length: 400 }, () => call(port, '/print', agent, { timeoutMs: 5_000 })));
        expect(outcomes.filter((o) => !('status' in o) || o.status !== 200)).toEqual([]);
      } finally {
        agent.destroy();
      }
      // 400 requests, each logging seven lines, against a 4 KiB buffer that nobody empties.
      expect(Date.now() - started).toBeLessThan(15_000);

      const output = new PassThrough();
      let text = '';
      output.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      const sink: LogSink = await startLogSink({ listen: { kind: 'unix', path: sinkPath }, output, log: () => {} });
      try {
        await waitFor(() => linesOf(text).some((l) => l.event === 'log.dropped'), 'the count of dropped lines', 10_000);
        const dropped = linesOf(text).find((l) => l.event === 'log.dropped')!;
        expect(dropped).toMatchObject({ level: 'warn' });
        expect(dropped.count as number).toBeGreaterThan(1_000);
        // What fitted in the buffer came first, the count after it; the boot lines are among the first kept.
        expect(linesOf(text).some((l) => l.event === 'app.ready')).toBe(true);
      } finally {
        await sink.close();
      }
    },
    40_000,
  );
});
