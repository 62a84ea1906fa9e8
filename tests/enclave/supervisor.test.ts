import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Agent, request as httpsRequest } from 'node:https';
import { type AddressInfo, connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readAttestation, rootFromPem, verifyAttestation } from '../../attestation';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { decodeIngressBinding } from '../../attestation/ingress-binding';
import { type ClientIdentity, generateIdentity, loadIdentity } from '../../client/identity';
import { parsePolicy, verifyResult } from '../../client';
import { parseAddress } from '../../transport/address';
import { type TestBuild, buildForTests } from './support/build';
import { type Outcome, call, ingressAgent, streamingCall } from './support/https';
import { listeningSockets } from './support/listening';
import { type ReadyLine, type SupervisorProcess, startSupervisor } from './support/supervisor';
import { isAlive } from '../helpers/processes';

const PCR0 = createHash('sha384').update('test image').digest('hex');
const onLinux = process.platform === 'linux' ? it : it.skip;

let build: TestBuild;
let tmp: string;
let alice: ClientIdentity;
let configPath: string;
let document: object;
const started: SupervisorProcess[] = [];

/** The supervisor with the development NSM in this file's directory, and `extra` flags. */
function supervisor(...extra: string[]): SupervisorProcess {
  const sv = startSupervisor(build.dir, ['--config', configPath, '--nsm', 'dev', '--dev-dir', join(tmp, 'dev'), '--pcr0', PCR0, ...extra]);
  started.push(sv);
  return sv;
}

const portOf = (ready: ReadyLine) => {
  const address = parseAddress(ready.ingress);
  if (address.kind !== 'tcp') throw new Error(`expected a tcp ingress, got ${ready.ingress}`);
  return address.port;
};

const appPids = (sv: SupervisorProcess) => sv.lines.filter((l) => l.event === 'app.ready').map((l) => l.pid as number);

beforeAll(async () => {
  build = buildForTests();
  tmp = mkdtempSync(join(tmpdir(), 'cloister-supervisor-'));
  const { keyLine } = await generateIdentity('alice', join(tmp, 'alice'));
  alice = loadIdentity(join(tmp, 'alice'));
  const bob = await generateIdentity('bob', join(tmp, 'bob'));
  document = {
    users: [
      { name: 'alice', role: 'member', key: keyLine },
      { name: 'bob', role: 'member', key: bob.keyLine },
    ],
    outbound: [],
    apps: { millionaire: { role: 'member' }, psi: { role: 'member' } },
  };
  configPath = join(tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify(document));
}, 20_000);

afterAll(async () => {
  await Promise.all(started.map((sv) => sv.stop()));
  build?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a booted supervisor (ingress on loopback TCP, app on its own unix socket)', () => {
  let sv: SupervisorProcess;
  let ready: ReadyLine;
  let port: number;
  const agent = () => ingressAgent(alice);

  beforeAll(async () => {
    sv = supervisor('--ingress', 'tcp://127.0.0.1:0');
    ready = await sv.ready;
    port = portOf(ready);
  }, 20_000);

  it('extends PCR16 with the configuration digest and locks it: every document carries pcr16For(digest)', async () => {
    const digest = configDigest(document);
    expect(ready.config).toBe(digest.toString('hex'));
    expect(ready.pcr16).toBe(pcr16For(digest).toString('hex'));

    const nonce = 'c0ffee'.repeat(8);
    const response = await fetchBytes(port, `/.well-known/cloister/attestation?nonce=${nonce}`);
    const root = rootFromPem(readFileSync(join(tmp, 'dev', 'root', 'cert.pem'), 'utf8'));
    // The development NSM, like the real one, lists PCRs above 15 only once they are locked: PCR16
    // being in the document at all shows the lock.
    const verified = verifyAttestation(response, {
      root,
      at: Date.now(),
      policy: { pcrs: { 0: [PCR0], 16: [pcr16For(digest).toString('hex')] }, nonce: Buffer.from(nonce, 'hex') },
    });
    expect(readAttestation(response).pcrs.get(16)).toBe(pcr16For(digest).toString('hex'));
    const binding = decodeIngressBinding(verified.userData);
    expect(Buffer.from(binding.config).equals(digest)).toBe(true);
    expect(Buffer.from(binding.instance).toString('hex')).toBe(ready.instance);
  });

  it('signs a final result with the results key its documents bind: the JWS verifies under a client policy', async () => {
    const bob = ingressAgent(loadIdentity(join(tmp, 'bob')));
    const post = (who: Agent, path: string, body: object) => call(port, path, who, { method: 'POST', body: JSON.stringify(body) });
    expect(await post(agent(), '/millionaire/rounds', { id: 'signed', participants: ['alice', 'bob'] })).toMatchObject({ status: 201 });
    expect(await post(agent(), '/millionaire/rounds/signed/wealth', { wealth: '5' })).toMatchObject({ status: 201 });
    expect(await post(bob, '/millionaire/rounds/signed/wealth', { wealth: '7' })).toMatchObject({ status: 201 });
    const answers = await Promise.all([agent(), bob].map((who) => call(port, '/millionaire/rounds/signed/result', who)));
    const [first, second] = answers.map((a) => JSON.parse((a as { body: string }).body) as { richest: string[]; jws: string });
    expect(second).toEqual(first);

    const digest = configDigest(document);
    const policy = parsePolicy({ root: join(tmp, 'dev', 'root', 'cert.pem'), pcrs: { 0: [PCR0] }, config: digest.toString('hex') }, '/');
    const verified = await verifyResult(first!.jws, policy);
    expect(verified.payload).toMatchObject({ app: 'millionaire', resource: 'signed', participants: ['alice', 'bob'], result: { richest: ['bob'] } });
    expect(verified.instanceId).toBe(ready.instance);
    // Every document the ingress serves binds the same results key as the one the JWS carries.
    const served = await fetchBytes(port, `/.well-known/cloister/attestation?nonce=${'ab'.repeat(32)}`);
    await expect(verifyResult(first!.jws, policy, { document: served })).resolves.toMatchObject({ instanceId: ready.instance });
  });

  it('answers through to the app: alice is greeted by name, a caller without a certificate gets 401', async () => {
    const greeted = await call(port, '/hello', agent());
    expect(greeted).toMatchObject({ status: 200 });
    expect(JSON.parse((greeted as { body: string }).body)).toMatchObject({ name: 'alice', role: 'member' });
    expect(await call(port, '/hello', ingressAgent())).toMatchObject({ status: 401 });
  });

  onLinux('runs the app on a 0600 socket in a 0700 directory of its own, listening on nothing else', () => {
    const app = parseAddress(ready.app);
    expect(app.kind).toBe('unix');
    const socketPath = (app as { path: string }).path;
    expect(statSync(dirname(socketPath)).mode & 0o777).toBe(0o700);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(socketPath).uid).toBe(process.getuid!());

    const [appPid] = appPids(sv);
    expect(listeningSockets(appPid!)).toEqual({ tcp: [], unix: [socketPath] });
    // The supervisor itself listens only on loopback: the ingress where it was told, and the egress
    // proxy it gives the app, on a port of the system's choosing.
    const supervisorTcp = listeningSockets(sv.child.pid!).tcp;
    expect(supervisorTcp).toHaveLength(2);
    expect(supervisorTcp).toContainEqual({ host: '127.0.0.1', port });
    for (const listener of supervisorTcp) expect(listener.host).toBe('127.0.0.1');
  });

  onLinux('lets no other user connect to the app socket', () => {
    if (process.getuid!() !== 0) return; // only root can try as another user
    const { path } = parseAddress(ready.app) as { path: string };
    const probe = `require('net').connect(${JSON.stringify(path)}).on('connect', () => console.log('CONNECTED')).on('error', (e) => console.log(e.code))`;
    const attempt = spawnSync(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 5_000 });
    expect(attempt.stdout.trim()).toBe('EACCES');
  });

  it('restarts an app killed three times under load: no GET fails, other requests get 503 with Retry-After (or 502), none hangs', async () => {
    const load = ingressAgent(alice, 50);
    const gets: { at: number; outcome: Outcome }[] = [];
    const posts: { at: number; outcome: Outcome }[] = [];
    let stop = false;
    const getter = async () => {
      while (!stop) gets.push({ at: Date.now(), outcome: await call(port, '/hello', load, { timeoutMs: 10_000 }) });
    };
    // A request with a body is not replayed: it reaches the app (404, no such round) or is refused.
    const poster = async () => {
      while (!stop) {
        const outcome = await call(port, '/millionaire/rounds/none/wealth', load, { method: 'POST', body: '{"wealth":"1"}', timeoutMs: 10_000 });
        posts.push({ at: Date.now(), outcome });
      }
    };

    // Uploads in the middle of their body when the app dies: the ingress must answer them, not
    // leave them waiting for an app that is gone.
    const uploads = [];
    for (let i = 0; i < 3; i++) {
      const session = await call(port, '/psi/sessions', load, { method: 'POST', body: JSON.stringify({ participants: ['alice', 'bob'] }) });
      expect(session).toMatchObject({ status: 201 });
      const sessionId = JSON.parse((session as { body: string }).body).id as string;
      const upload = streamingCall(port, `/psi/sessions/${sessionId}/set`, ingressAgent(alice), 'text/plain');
      upload.write('first item\n');
      uploads.push(upload);
    }
    const uploadsSettled = uploads.map((u) => u.outcome.then((outcome) => ({ outcome, at: Date.now() })));

    const workers = [...Array.from({ length: 40 }, getter), ...Array.from({ length: 10 }, poster)];
    await sleep(300);
    const firstKill = Date.now();
    let appPid = appPids(sv).at(-1)!;
    const killed: number[] = [];
    for (let kill = 0; kill < 3; kill++) {
      process.kill(appPid, 'SIGKILL');
      killed.push(appPid);
      const restarted = await sv.waitFor('app.ready', (l) => !killed.includes(l.pid as number), 15_000);
      appPid = restarted.pid as number;
      await sleep(300);
    }
    stop = true;
    await Promise.all(workers);
    const uploadResults = await Promise.all(uploadsSettled);
    load.destroy();

    // Every GET was answered by the app, those sent while it was down once it was back.
    expect(gets.filter(({ outcome }) => !('status' in outcome) || outcome.status !== 200)).toEqual([]);
    expect(gets.filter(({ at }) => at > firstKill).length).toBeGreaterThan(0);
    // Requests with a body: the app's answer, or a refusal that says when to retry; never a hang.
    for (const { outcome } of posts) {
      expect(outcome).toMatchObject({ status: expect.any(Number) });
      const { status, retryAfter } = outcome as { status: number; retryAfter?: string };
      expect([404, 502, 503]).toContain(status);
      if (status === 503) expect(retryAfter).toBe('1');
    }
    expect(posts.some(({ outcome }) => 'status' in outcome && outcome.status === 503)).toBe(true);
    expect(Math.max(...[...gets, ...posts].map(({ outcome }) => outcome.ms))).toBeLessThan(8_000);
    for (const { outcome, at } of uploadResults) {
      // Answered 502/503 or cut off, promptly: never left waiting for an app that is gone.
      if ('status' in outcome) expect([502, 503]).toContain(outcome.status);
      else expect(['ECONNRESET', 'EPIPE', 'RESPONSE_CUT']).toContain(outcome.error);
      expect(at - firstKill).toBeLessThan(3_000);
    }

    expect(sv.lines.find((l) => l.event === 'app.exited' && l.pid === killed[0])).toMatchObject({ reason: 'killed by SIGKILL' });
    expect(isAlive(appPid)).toBe(true);
    expect(await call(port, '/hello', agent())).toMatchObject({ status: 200 });
  }, 60_000);
});

describe('a supervisor with its app on loopback TCP', () => {
  onLinux(
    'binds the app to 127.0.0.1 only: no other interface reaches it',
    async () => {
      const sv = supervisor('--ingress', 'tcp://127.0.0.1:0', '--app', 'tcp://127.0.0.1:0');
      const ready = await sv.ready;
      const app = parseAddress(ready.app) as { kind: 'tcp'; host: string; port: number };
      expect(app).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
      expect(app.port).toBeGreaterThan(0);
      expect(listeningSockets(appPids(sv)[0]!)).toEqual({ tcp: [{ host: '127.0.0.1', port: app.port }], unix: [] });

      const external = Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
        (addresses ?? [])
          .filter((a) => !a.internal)
          // A link-local IPv6 address is reachable only through its interface.
          .map((a) => (a.family === 'IPv6' && a.scopeid ? `${a.address}%${name}` : a.address)),
      );
      for (const address of external) expect(await connectOutcome(address, app.port)).toBe('ECONNREFUSED');

      sv.child.kill('SIGTERM');
      expect(await sv.exited).toEqual({ code: 0, signal: null });
    },
    20_000,
  );
});

describe('shutdown', () => {
  it('on SIGTERM lets a request in flight finish, stops the app, removes its sockets and exits 0', async () => {
    const run = join(tmp, 'run');
    mkdirSync(join(run, 'app'), { recursive: true, mode: 0o700 });
    const ingressSocket = join(run, 'ingress.sock');
    const appSocket = join(run, 'app', 'app.sock');
    const readyFile = join(run, 'ready');
    const sv = supervisor('--ingress', `unix://${ingressSocket}`, '--app', `unix://${appSocket}`, '--ready-file', readyFile, '--grace-ms', '2000');
    const ready = await sv.ready;
    expect(readFileSync(readyFile, 'utf8')).toBe(`unix://${ingressSocket}\n`);
    expect(ready.app).toBe(`unix://${appSocket}`);
    const [appPid] = appPids(sv);

    const session = await call(ingressSocket, '/psi/sessions', ingressAgent(alice), {
      method: 'POST',
      body: JSON.stringify({ participants: ['alice', 'bob'] }),
    });
    const sessionId = JSON.parse((session as { body: string }).body).id as string;
    const upload = streamingCall(ingressSocket, `/psi/sessions/${sessionId}/set`, ingressAgent(alice), 'text/plain');
    upload.write('first\n');
    await sleep(200);
    sv.child.kill('SIGTERM');
    await sv.waitFor('stopping');
    await sleep(200);
    upload.end('second\n');
    expect(await upload.outcome).toMatchObject({ status: 201 });

    expect(await sv.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(appPid!)).toBe(false);
    expect(existsSync(ingressSocket)).toBe(false);
    expect(existsSync(appSocket)).toBe(false);
    expect(existsSync(readyFile)).toBe(false);
  }, 20_000);
});

describe('refusals at boot', () => {
  it('exits 2 on an invalid configuration, naming the field, and listens on nothing', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ users: [{ name: 'alice', role: 'member', key: 'sha256:nothex' }] }));
    const readyFile = join(tmp, 'never-ready');
    const sv = startSupervisor(build.dir, [
      '--config',
      bad,
      '--nsm',
      'dev',
      '--dev-dir',
      join(tmp, 'dev'),
      '--ingress',
      'tcp://127.0.0.1:0',
      '--ready-file',
      readyFile,
    ]);
    started.push(sv);
    expect(await sv.exited).toEqual({ code: 2, signal: null });
    expect(sv.stderr()).toMatch(/users\.0\.key/);
    expect(sv.lines.map((l) => l.event)).toEqual([]);
    expect(existsSync(readyFile)).toBe(false);
  });

  it('exits 2 for an app address that is not loopback, or an unknown NSM, saying why', async () => {
    const exposed = supervisor('--ingress', 'tcp://127.0.0.1:0', '--app', 'tcp://0.0.0.0:0');
    expect(await exposed.exited).toEqual({ code: 2, signal: null });
    expect(exposed.stderr()).toMatch(/--app tcp:\/\/0\.0\.0\.0:0: the app may listen on a loopback IP/);

    const unknown = supervisor('--nsm', 'tpm');
    expect(await unknown.exited).toEqual({ code: 2, signal: null });
    expect(unknown.stderr()).toMatch(/--nsm/);
  });

  it('exits 1 when the app cannot start, saying why, and opens no ingress', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const readyFile = join(tmp, 'app-never-ready');
    const sv = supervisor('--ingress', 'tcp://127.0.0.1:0', '--app', `tcp://127.0.0.1:${port}`, '--ready-file', readyFile);
    expect(await sv.exited).toEqual({ code: 1, signal: null });
    taken.close();
    expect(sv.stderr()).toMatch(/The app did not start: listen EADDRINUSE/);
    expect(existsSync(readyFile)).toBe(false);
  });

  it('exits 1 with DEVICE_ABSENT when told to use /dev/nsm outside an enclave', async () => {
    const sv = startSupervisor(build.dir, ['--config', configPath, '--ingress', 'tcp://127.0.0.1:0']);
    started.push(sv);
    expect(await sv.exited).toEqual({ code: 1, signal: null });
    expect(sv.stderr()).toMatch(/DEVICE_ABSENT/);
  });
});

function fetchBytes(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent: ingressAgent(), headers: { host: 'localhost' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

function connectOutcome(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('CONNECTED');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('TIMEOUT');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
