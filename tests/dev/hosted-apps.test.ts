import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestedAgent } from '../../client/agent';
import { loadIdentity } from '../../client/identity';
import { loadPolicy } from '../../client/policy';
import { verifyResult } from '../../client/verify-result';
import { type TestBuild, buildForTests } from '../enclave/support/build';
import { startSupervisor } from '../enclave/support/supervisor';
import { freePort } from '../../transport/free-port';
import { isAlive } from '../helpers/processes';

/**
 * The local stack serving apps that are not the examples: one given as a module path, one as a
 * command (a plain node:http server on CLOISTER_LISTEN). Each is called through the attested
 * channel (bridge, attested TLS, ingress) with the client library, and must see the identity the
 * ingress established, never one the client wrote.
 */

/** Answers with what the app saw: the identity headers, its configuration block, and how it was hosted. */
const REPORT = `(req, res, kind, config, callers) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    kind, config, callers,
    name: req.headersDistinct['x-oblv-user-name'] ?? null,
    role: req.headersDistinct['x-oblv-user-role'] ?? null,
  }));
}`;

/** Answers /signed with a result signed by \`signer\`, naming the caller as its participant. */
const SIGNED = `(signer, req, res, kind) =>
  signer.sign({ app: kind, resource: 'probe', participants: req.headersDistinct['x-oblv-user-name'] ?? [], result: { kind } }).then((jws) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jws }));
  })`;

const MODULE_APP = `
const report = ${REPORT};
const signed = ${SIGNED};
exports.configSchema = {
  safeParse: (block) => {
    const unknown = Object.keys(block).filter((key) => key !== 'greeting');
    if (unknown.length > 0) return { success: false, error: { issues: [{ path: [unknown[0]], message: 'unknown setting' }] } };
    return { success: true, data: { greeting: block.greeting ?? 'hello' } };
  },
};
exports.default = (config, context) => (req, res) =>
  req.url === '/signed' ? signed(context.results, req, res, 'module') : report(req, res, 'module', config, context.callers.map((c) => c.name));
`;

/** A command signs as a user's would: cloister/express's createResultSigner over the key in its environment. */
const commandApp = (express: string) => `
const http = require('node:http');
const { createResultSigner } = require(${JSON.stringify(express)});
const report = ${REPORT};
const signed = ${SIGNED};
const listen = process.env.CLOISTER_LISTEN;
const config = JSON.parse(process.env.CLOISTER_APP_CONFIG);
const signer = createResultSigner(JSON.parse(process.env.CLOISTER_RESULTS_KEY));
const server = http.createServer((req, res) => (req.url === '/signed' ? signed(signer, req, res, 'command') : report(req, res, 'command', config, null)));
if (listen.startsWith('unix://')) server.listen(listen.slice('unix://'.length));
else server.listen(Number(new URL(listen).port), new URL(listen).hostname);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let build: TestBuild;
let tmp: string;
const running: ChildProcess[] = [];

beforeAll(() => {
  build = buildForTests();
  tmp = mkdtempSync(join(tmpdir(), 'cloister-hosted-apps-'));
  writeFileSync(join(tmp, 'app.js'), MODULE_APP);
  writeFileSync(join(tmp, 'server.js'), commandApp(join(build.dir, 'express', 'index.js')));
});

afterAll(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  build?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

interface Stack {
  url: string;
  dir: string;
  child: ChildProcess;
  output(): string;
}

/** `cloister dev` from the test build with `args`; resolves once its banner is printed. */
async function startDev(name: string, args: string[]): Promise<Stack> {
  const dir = join(tmp, name);
  const port = await freePort();
  const child = spawn(process.execPath, [join(build.dir, 'cli', 'index.js'), 'dev', '--dir', dir, '--port', String(port), '--quiet', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (output += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (output += t));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => output.includes('Ctrl-C stops it.') && resolve());
    child.once('exit', (code) => reject(new Error(`cloister dev exited (${code}) before it was ready:\n${output}`)));
  });
  return { url: `https://127.0.0.1:${port}`, dir, child, output: () => output };
}

/** GET through the attested channel as `user` (or with no client certificate), with extra headers. */
function attestedGet(
  stack: Stack,
  user: string | undefined,
  headers: Record<string, string> = {},
  path = '/whoami',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const agent = new AttestedAgent({
    policy: loadPolicy(join(stack.dir, 'policy.json')),
    ...(user !== undefined && { identity: loadIdentity(join(stack.dir, 'users', user)) }),
  });
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    request(`${stack.url}${path}`, { agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (t: string) => (text += t));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    })
      .on('error', reject)
      .end();
  }).finally(() => agent.destroy());
}

/** Has the app sign a result for alice, and verifies it under the stack's policy as any party would. */
async function signedProbe(stack: Stack, kind: string): Promise<void> {
  const { status, body } = await attestedGet(stack, 'alice', {}, '/signed');
  expect(status).toBe(200);
  const verified = await verifyResult(body.jws as string, loadPolicy(join(stack.dir, 'policy.json')));
  expect(verified.payload).toMatchObject({ app: kind, resource: 'probe', participants: ['alice'], result: { kind } });
}

async function stop(stack: Stack): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => stack.child.once('exit', (code) => resolve(code)));
  stack.child.kill('SIGTERM');
  return exited;
}

const onLinux = process.platform === 'linux' ? it : it.skip;

describe('the local stack hosting an app given by module path', () => {
  onLinux(
    'serves it through the attested channel; the app sees the caller the ingress established and its own configuration block',
    async () => {
      const stack = await startDev('module', ['--app-module', join(tmp, 'app.js')]);
      try {
        await signedProbe(stack, 'module');
        const alice = await attestedGet(stack, 'alice');
        expect(alice).toEqual({
          status: 200,
          body: { kind: 'module', config: { greeting: 'hello' }, callers: ['alice', 'bob', 'carol'], name: ['alice'], role: ['member'] },
        });
        const forged = await attestedGet(stack, 'bob', { 'X-OBLV-User-Name': 'alice', 'x-oblv-user-role': 'admin' });
        expect(forged.body).toMatchObject({ name: ['bob'], role: ['member'] });
        const anonymous = await attestedGet(stack, undefined, { 'X-OBLV-User-Name': 'alice', 'X-OBLV-User-Role': 'member' });
        expect(anonymous.body).toMatchObject({ name: null, role: null });
        // The sample configuration has no apps block: the examples' settings belong to the examples alone.
        expect(JSON.parse(readFileSync(join(stack.dir, 'config.json'), 'utf8'))).not.toHaveProperty('apps');
      } finally {
        expect(await stop(stack)).toBe(0);
      }
    },
    60_000,
  );

  onLinux(
    "refuses, before anything starts, a configuration whose apps block the module's schema refuses",
    async () => {
      const dir = join(tmp, 'module-bad');
      const config = join(tmp, 'bad-config.json');
      writeFileSync(config, JSON.stringify({ users: [], apps: { greting: 'hi' } }));
      const child = spawn(
        process.execPath,
        [join(build.dir, 'cli', 'index.js'), 'dev', '--dir', dir, '--port', String(await freePort()), '--config', config, '--app-module', join(tmp, 'app.js')],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      running.push(child);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toMatch(/bad-config\.json: Invalid Cloister configuration: apps\.greting: unknown setting/);
    },
    30_000,
  );
});

describe('the local stack hosting an app given by command', () => {
  onLinux(
    'serves a plain node:http server on CLOISTER_LISTEN through the attested channel, with identity headers, and stops it',
    async () => {
      const stack = await startDev('command', ['--', process.execPath, join(tmp, 'server.js')]);
      let appPid: number | undefined;
      try {
        await signedProbe(stack, 'command');
        const alice = await attestedGet(stack, 'alice', { 'X-OBLV-User-Name': 'mallory' });
        expect(alice).toEqual({ status: 200, body: { kind: 'command', config: {}, callers: null, name: ['alice'], role: ['member'] } });
        const anonymous = await attestedGet(stack, undefined, { 'X-OBLV-User-Role': 'member' });
        expect(anonymous.body).toMatchObject({ name: null, role: null });
        appPid = findProcess(join(tmp, 'server.js'));
        expect(appPid).toBeDefined();
      } finally {
        expect(await stop(stack)).toBe(0);
      }
      expect(isAlive(appPid!)).toBe(false);
    },
    60_000,
  );
});

describe('the supervisor hosting a command', () => {
  onLinux(
    'restarts the command when it dies, on the same address, and stops its whole process group on SIGTERM',
    async () => {
      const config = join(tmp, 'supervisor-config.json');
      writeFileSync(config, JSON.stringify({ users: [], apps: { greeting: 'hi' } }));
      const sv = startSupervisor(build.dir, [
        '--config',
        config,
        '--nsm',
        'dev',
        '--dev-dir',
        join(tmp, 'sv-dev'),
        '--ingress',
        'tcp://127.0.0.1:0',
        '--app',
        'tcp://127.0.0.1:0',
        // A shell that stays, with the server as its child: the process group is what is stopped.
        '--',
        '/bin/sh',
        '-c',
        `"${process.execPath}" "${join(tmp, 'server.js')}"; exit 3`,
      ]);
      try {
        const ready = await sv.ready;
        const first = await sv.waitFor('app.ready');
        expect(first.app).toMatch(/^command "\/bin\/sh"/);
        expect(ready.app).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
        const firstServer = findProcess(join(tmp, 'server.js'))!;
        process.kill(first.pid as number, 'SIGKILL');
        const second = await sv.waitFor('app.ready', (line) => line.pid !== first.pid, 15_000);
        expect(second.address).toBe(ready.app);
        expect(sv.lines.find((l) => l.event === 'app.exited' && l.pid === first.pid)).toMatchObject({ reason: 'killed by SIGKILL' });
        expect(isAlive(firstServer)).toBe(false);
        const secondServer = findProcess(join(tmp, 'server.js'))!;
        const answer = await fetch(`http://${ready.app.slice('tcp://'.length)}/`).then((res) => res.json());
        expect(answer).toMatchObject({ kind: 'command', config: { greeting: 'hi' }, name: null });
        await sv.stop();
        expect(await sv.exited).toEqual({ code: 0, signal: null });
        expect(isAlive(second.pid as number)).toBe(false);
        expect(isAlive(secondServer)).toBe(false);
      } finally {
        await sv.stop();
      }
    },
    60_000,
  );
});

/** The pid of the process whose command line names `script` (Linux). */
function findProcess(script: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(script)) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  return undefined;
}
