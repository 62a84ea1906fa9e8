import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pcr16For } from '../../contract/config-digest';
import { AttestedAgent } from '../../client/agent';
import { attest, checkAttestation } from '../../client/attest';
import { fetchAttestation } from '../../client/fetch-attestation';
import { loadIdentity } from '../../client/identity';
import { loadPolicy } from '../../client/policy';
import { runCli } from '../../cli/main';
import { loadConfigFile } from '../../contract/load-config';
import { developmentPcrs } from '../../dev/local/measurements';
import { type TestBuild, buildForTests, examplesApp } from './support/build';
import { listeningSockets } from './support/listening';
import { freePort } from '../../transport/free-port';
import { isAlive } from '../helpers/processes';

const onLinux = process.platform === 'linux' ? it : it.skip;

/** A `cloister dev` process, run from the test build through `registerDev`. */
interface DevProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the banner is printed; rejects if the process exits first. */
  started: Promise<void>;
}

let build: TestBuild;
let tmp: string;
const processes: DevProcess[] = [];

function dev(...args: string[]): DevProcess {
  // What `cloister dev` runs, without depending on cli/main.ts registering it.
  const runner = `
    const { Command } = require('commander');
    const { registerDev } = require(${JSON.stringify(join(build.dir, 'cli', 'dev.js'))});
    const io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };
    let status = 0;
    const program = new Command('cloister').exitOverride();
    registerDev(program, io, (code) => (status = code));
    program.parseAsync(process.argv.slice(1), { from: 'user' }).then(
      () => process.exit(status),
      (e) => { io.stderr('cloister: ' + e.message + '\\n'); process.exit(e.exitCode ?? 2); },
    );`;
  const child = spawn(process.execPath, ['-e', runner, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => stdout.includes('Ctrl-C stops it.') && resolve());
    void exited.then(({ code }) => reject(new Error(`cloister dev exited (${code}) before it was ready:\n${stderr}`)));
  });
  started.catch(() => {});
  const process_ = { child, stdout: () => stdout, stderr: () => stderr, exited, started };
  processes.push(process_);
  return process_;
}

/** Runs the demo from the test build; resolves with how it ended. */
function demo(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> & { pid: number | undefined } {
  const child = spawn(process.execPath, [join(build.dir, 'dev', 'demo.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (status) => resolve({ status, stdout, stderr })),
  );
  return Object.assign(done, { pid: child.pid });
}

/** The process ids of `pid`'s children (Linux). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}

/** The command line of `pid` (Linux). */
const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(() => {
  build = buildForTests();
  tmp = mkdtempSync(join(tmpdir(), 'cloister-dev-test-'));
});

afterAll(async () => {
  for (const { child, exited } of processes) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  build?.remove();
  rmSync(tmp, { recursive: true, force: true });
});

describe('cloister dev', () => {
  let dir: string;
  let port: number;
  let stack: DevProcess;
  let url: string;

  beforeAll(async () => {
    dir = join(tmp, 'dev');
    port = await freePort();
    url = `https://127.0.0.1:${port}`;
    stack = dev('--dir', dir, '--port', String(port), '--quiet');
    await stack.started;
  }, 30_000);

  it('prepares the development directory: persistent root, three users, a sample config and a policy for this build', () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(existsSync(join(dir, 'root', 'cert.pem'))).toBe(true);
    const { config, digest } = loadConfigFile(join(dir, 'config.json'));
    expect(config.users.map((u) => [u.name, u.role])).toEqual([
      ['alice', 'member'],
      ['bob', 'member'],
      ['carol', 'member'],
    ]);
    for (const user of config.users) expect(user.key).toBe(loadIdentity(join(dir, 'users', user.name)).keyDigest);
    expect(config.apps).toEqual({ millionaire: { role: 'member' }, psi: { role: 'member' }, stats: { role: 'member' } });
    expect(config.outbound).toEqual([]);

    const pcrs = developmentPcrs(build.dir, examplesApp(build.dir));
    expect(JSON.parse(readFileSync(join(dir, 'policy.json'), 'utf8'))).toEqual({
      root: join('root', 'cert.pem'),
      pcrs: { 0: [pcrs[0]], 1: [pcrs[1]], 2: [pcrs[2]], 16: [pcr16For(digest).toString('hex')] },
      config: digest.toString('hex'),
      maxAgeSeconds: 300,
      allowDebug: false,
    });
  });

  it('prints the URL, the development root, the PCRs, the config digest, the policy and commands to paste', () => {
    const out = stack.stdout();
    const { digest } = loadConfigFile(join(dir, 'config.json'));
    expect(out).toContain(`URL            ${url}`);
    expect(out).toMatch(/dev root +\S*root\/cert\.pem \(sha256 [0-9a-f]{64}\)/);
    expect(out).toContain(`PCR0           ${developmentPcrs(build.dir, examplesApp(build.dir))[0]}`);
    expect(out).toContain(`PCR16          ${pcr16For(digest).toString('hex')}`);
    expect(out).toContain(`config digest  ${digest.toString('hex')}`);
    expect(out).toMatch(/policy +\S*policy\.json/);
    expect(out).toMatch(new RegExp(`npx cloister call ${url}/hello --identity \\S*users/alice --policy \\S*policy\\.json$`, 'm'));
    expect(out).toMatch(new RegExp(`npx cloister attest ${url} --policy \\S*policy\\.json$`, 'm'));
  });

  it('greets alice through bridge and ingress, over a connection attested under the policy (`cloister call`)', async () => {
    let stdout = '';
    let stderr = '';
    const status = await runCli(['call', `${url}/hello`, '--identity', join(dir, 'users', 'alice'), '--policy', join(dir, 'policy.json')], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    expect({ status, stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    expect(JSON.parse(stdout)).toMatchObject({ name: 'alice', role: 'member' });
  });

  it('serves any Node HTTPS client through AttestedAgent, each user as themselves', async () => {
    const policy = loadPolicy(join(dir, 'policy.json'));
    const server = await attest(url, policy);
    expect(server.configDigest).toBe(loadConfigFile(join(dir, 'config.json')).digest.toString('hex'));
    for (const name of ['bob', 'carol']) {
      const agent = new AttestedAgent({ policy, identity: loadIdentity(join(dir, 'users', name)) });
      const body = await new Promise<string>((resolve, reject) => {
        request(`${url}/hello`, { agent }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (t: string) => (text += t));
          res.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
      agent.destroy();
      expect(JSON.parse(body)).toMatchObject({ name, role: 'member' });
    }
  });

  describe('clients refuse the stack, before sending a request body, when it is not what their policy pins', () => {
    /** POSTs a round through AttestedAgent as alice; resolves with the error, or undefined when the request went through. */
    function postRound(target: string, policy: ReturnType<typeof loadPolicy>, id: string): Promise<Error | undefined> {
      const agent = new AttestedAgent({ policy, identity: loadIdentity(join(dir, 'users', 'alice')) });
      return new Promise<Error | undefined>((resolve) => {
        const req = request(`${target}/millionaire/rounds`, { agent, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume().on('end', () => resolve(undefined));
        });
        req.on('error', resolve);
        req.end(JSON.stringify({ id, participants: ['alice', 'bob'] }));
      }).finally(() => agent.destroy());
    }

    /** Whether the app ever saw the round: asked through a correctly attested connection. */
    async function roundExists(id: string): Promise<boolean> {
      const agent = new AttestedAgent({ policy: loadPolicy(join(dir, 'policy.json')), identity: loadIdentity(join(dir, 'users', 'alice')) });
      const status = await new Promise<number>((resolve, reject) => {
        request(`${url}/millionaire/rounds/${id}/result`, { agent }, (res) => resolve(res.resume().statusCode!))
          .on('error', reject)
          .end();
      });
      agent.destroy();
      return status !== 404;
    }

    function policyWith(change: Record<string, unknown>): ReturnType<typeof loadPolicy> {
      const file = join(dir, `policy-${Object.keys(change).join('-')}.json`);
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'policy.json'), 'utf8')), ...change }));
      return loadPolicy(file);
    }

    it('sends the body to the stack its policy pins (the control case)', async () => {
      expect(await postRound(url, loadPolicy(join(dir, 'policy.json')), 'control-round')).toBeUndefined();
      expect(await roundExists('control-round')).toBe(true);
    });

    it.each([
      ['another PCR0 (other code)', { pcrs: { 0: ['ab'.repeat(48)] } }, 'PCR_MISMATCH'],
      ['another config digest', { config: 'cd'.repeat(48) }, 'USER_DATA_MISMATCH'],
      ['the AWS root', { root: 'aws' }, 'BAD_CHAIN'],
    ])('refuses %s', async (_what, change, code) => {
      const id = `refused-${code.toLowerCase()}`;
      const error = await postRound(url, policyWith(change), id);
      expect(error).toMatchObject({ code });
      expect(await roundExists(id)).toBe(false);
    });

    it('refuses a replayed document: one the stack made for an earlier nonce (NONCE_MISMATCH)', async () => {
      const policy = loadPolicy(join(dir, 'policy.json'));
      const earlier = await fetchAttestation(url);
      expect(() => checkAttestation(earlier, policy)).not.toThrow();
      const now = await fetchAttestation(url);
      expect(() => checkAttestation({ ...earlier, nonce: now.nonce }, policy)).toThrow(expect.objectContaining({ code: 'NONCE_MISMATCH' }));
    });

    it('refuses a stale document: one the stack made longer ago than maxAgeSeconds (STALE)', async () => {
      const policy = loadPolicy(join(dir, 'policy.json'));
      const fetched = await fetchAttestation(url);
      const later = Date.now() + policy.maxAgeMs + 61_000;
      const realNow = Date.now;
      Date.now = () => later;
      try {
        expect(() => checkAttestation(fetched, policy)).toThrow(expect.objectContaining({ code: 'STALE' }));
      } finally {
        Date.now = realNow;
      }
    });

    it('refuses a man in the middle presenting its own TLS key, which relays to the real stack: PUBLIC_KEY_MISMATCH', async () => {
      const { generateTlsIdentity } = await import('../../enclave/ingress/tls-identity');
      const { createServer: createHttpsServer, request: relay } = await import('node:https');
      const tls = await generateTlsIdentity('mitm');
      const seen: string[] = [];
      const mitm = createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
        seen.push(`${req.method} ${req.url}`);
        req.pipe(
          relay(`${url}${req.url}`, { method: req.method, headers: req.headers, rejectUnauthorized: false }, (answer) => {
            res.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(res);
          }),
        );
      });
      await new Promise<void>((resolve) => mitm.listen(0, '127.0.0.1', resolve));
      const mitmUrl = `https://127.0.0.1:${(mitm.address() as AddressInfo).port}`;
      try {
        const error = await postRound(mitmUrl, loadPolicy(join(dir, 'policy.json')), 'refused-mitm');
        expect(error).toMatchObject({ code: 'PUBLIC_KEY_MISMATCH' });
        expect(seen.length).toBeGreaterThan(0);
        for (const line of seen) expect(line).toMatch(/^GET \/\.well-known\/cloister\/attestation\?nonce=[0-9a-f]{64}$/);
        expect(await roundExists('refused-mitm')).toBe(false);
      } finally {
        mitm.closeAllConnections();
        await new Promise((resolve) => mitm.close(resolve));
      }
    });
  });

  onLinux('runs the enclave’s layout: a bridge on 127.0.0.1, a log sink, and a supervisor whose ingress and app are unix sockets', () => {
    const children = childrenOf(stack.child.pid!).map((pid) => ({ pid, command: commandOf(pid), ...listeningSockets(pid) }));
    expect(children).toHaveLength(4);
    const sink = children.find((c) => c.command.includes('parent/log-sink/main.js'))!;
    expect(sink).toMatchObject({ tcp: [], unix: [join(dir, 'run', 'logs.sock')] });
    expect(children.find((c) => c.command.includes('enclave/main.js'))!.command).toContain(`--log-sink unix://${join(dir, 'run', 'logs.sock')}`);
    const bridge = children.find((c) => c.command.includes('parent/bridge/main.js'))!;
    const relay = children.find((c) => c.command.includes('parent/egress-relay/main.js'))!;
    const supervisor = children.find((c) => c.command.includes('enclave/main.js'))!;
    expect(bridge.tcp).toEqual([{ host: '127.0.0.1', port }]);
    expect(bridge.unix).toEqual([]);
    expect(relay.tcp).toEqual([]);
    expect(relay.unix).toEqual([join(dir, 'run', 'egress.sock')]);
    expect(supervisor.unix).toEqual([join(dir, 'run', 'ingress.sock')]);
    for (const listener of supervisor.tcp) expect(listener.host).toBe('127.0.0.1');
    const [app] = childrenOf(supervisor.pid);
    expect(listeningSockets(app!).tcp).toEqual([]);
    expect(listeningSockets(app!).unix).toHaveLength(1);
  });

  it('lets `npm run demo` use the running stack: a millionaire round and a PSI session among the three users', async () => {
    const { status, stdout, stderr } = await demo('--dir', dir, '--port', String(port));
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toContain(`Using the local stack already running on ${url}.`);
    expect(stdout).toContain('Hello, carol! You are calling as member.');
    expect(stdout).toContain('everyone reads the same answer: the richest is bob');
    expect(stdout).toContain('everyone reads the same intersection: ada@example.org, margaret@example.org');
    // Each party checks each signed result with the CLI, in a process of its own: two results, three parties.
    expect(stdout.match(/✓ VERIFIED signed result/g)).toHaveLength(6);
    expect(stdout).toContain('result       {"richest":["bob"]}');
    expect(stdout).toContain('and the intersection they read hashes to the signed intersectionSha256');
    // The amounts stay with the enclave: the demo prints outcomes, never the inputs.
    expect(stdout).not.toMatch(/3100000|1250000|2999999/);
  }, 30_000);

  it('refuses a second stack on the same port, saying so, with status 2', async () => {
    const second = dev('--dir', join(tmp, 'second'), '--port', String(port), '--quiet');
    expect(await second.exited).toEqual({ code: 2, signal: null });
    expect(second.stderr()).toContain(`127.0.0.1:${port} is in use`);
    expect(second.stderr()).toContain('--port');
  });

  it('refuses a second stack on the same directory before it rewrites the policy, with status 2', async () => {
    const policy = readFileSync(join(dir, 'policy.json'), 'utf8');
    const second = dev('--dir', dir, '--port', String(await freePort()), '--quiet');
    expect(await second.exited).toEqual({ code: 2, signal: null });
    expect(second.stderr()).toMatch(/Another local stack \(process \d+\) is running from .*--dir/);
    expect(readFileSync(join(dir, 'policy.json'), 'utf8')).toBe(policy);
  });

  it('stops everything on SIGINT and exits 0, freeing the port and removing its sockets', async () => {
    const pids = childrenOf(stack.child.pid!);
    stack.child.kill('SIGINT');
    expect(await stack.exited).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(join(dir, 'run', 'ingress.sock'))).toBe(false);
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  }, 20_000);
});

describe('npm run demo', () => {
  onLinux(
    'starts the local stack when none runs, drives both computations, stops what it started and exits 0',
    async () => {
      const port = await freePort();
      const run = demo('--dir', join(tmp, 'demo'), '--port', String(port));
      let children: number[] = [];
      // Whatever it started must be gone once it has exited.
      const watch = setInterval(() => {
        if (run.pid !== undefined && isAlive(run.pid)) children = [...new Set([...children, ...childrenOf(run.pid)])];
      }, 20);
      const { status, stdout, stderr } = await run;
      clearInterval(watch);
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      expect(stdout).toContain(`Started the local stack on https://127.0.0.1:${port}.`);
      expect(stdout).toContain('the richest is bob');
      expect(stdout).toContain('ada@example.org, margaret@example.org');
      expect(children.length).toBeGreaterThanOrEqual(2);
      for (const pid of children) await until(() => !isAlive(pid));
    },
    30_000,
  );
});

describe('cloister dev refusals', () => {
  it('exits 2 on a configuration that does not validate, naming the file and the field, and starts nothing', async () => {
    const dir = join(tmp, 'dev-bad-config');
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ users: [], apps: { millionaire: { role: 'member', extra: 1 } } }));
    const stack = dev('--dir', dir, '--port', String(await freePort()), '--quiet');
    expect(await stack.exited).toEqual({ code: 2, signal: null });
    expect(stack.stderr()).toMatch(/dev-bad-config\/config\.json: Invalid Cloister configuration: apps\.millionaire/);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('exits 2 on a port that is not one', async () => {
    const stack = dev('--dir', join(tmp, 'dev-bad-port'), '--port', '99999');
    expect(await stack.exited).toEqual({ code: 2, signal: null });
    expect(stack.stderr()).toContain('--port 99999 is not a TCP port');
  });
});

describe('cloister dev when part of the stack dies', () => {
  onLinux(
    'says which process exited, stops the rest and exits 1',
    async () => {
      const dir = join(tmp, 'dev-dies');
      const port = await freePort();
      const stack = dev('--dir', dir, '--port', String(port), '--quiet');
      await stack.started;
      const children = childrenOf(stack.child.pid!);
      const bridge = children.find((pid) => commandOf(pid).includes('parent/bridge/main.js'))!;
      const supervisor = children.find((pid) => commandOf(pid).includes('enclave/main.js'))!;
      process.kill(bridge, 'SIGKILL');
      expect(await stack.exited).toEqual({ code: 1, signal: null });
      expect(stack.stderr()).toMatch(/The bridge exited \(SIGKILL\)/);
      expect(() => process.kill(supervisor, 0)).toThrow();
    },
    30_000,
  );

  onLinux(
    'leaves nothing running when it is killed outright (SIGKILL)',
    async () => {
      const port = await freePort();
      const stack = dev('--dir', join(tmp, 'dev-killed'), '--port', String(port), '--quiet');
      await stack.started;
      const children = childrenOf(stack.child.pid!);
      const grandchildren = children.flatMap(childrenOf);
      const [appSocket] = listeningSockets(grandchildren[0]!).unix;
      stack.child.kill('SIGKILL');
      await stack.exited;
      for (const pid of [...children, ...grandchildren]) await until(() => !isAlive(pid));
      // The supervisor shut down cleanly rather than die with its parent: its sockets are gone.
      expect(existsSync(dirname(appSocket!))).toBe(false);
      expect(existsSync(join(tmp, 'dev-killed', 'run', 'ingress.sock'))).toBe(false);
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => server.close(resolve));
    },
    30_000,
  );

  it('keeps a configuration it did not write, and warns about sample users it does not list', async () => {
    const dir = join(tmp, 'dev-edited');
    mkdirSync(dir, { mode: 0o700 });
    const mine = { users: [{ name: 'dave', role: 'member', key: `sha256:${'ab'.repeat(32)}` }] };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(mine));
    const stack = dev('--dir', dir, '--port', String(await freePort()), '--quiet');
    await stack.started;
    for (const name of ['alice', 'bob', 'carol']) expect(stack.stderr()).toMatch(new RegExp(`warning: ${name}'s key .* is not in .*config\\.json`));
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual(mine);
    stack.child.kill('SIGTERM');
    expect(await stack.exited).toEqual({ code: 0, signal: null });
  }, 30_000);
});
