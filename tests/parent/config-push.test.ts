import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { parseConfigText } from '../../contract/load-config';
import { type PushAnswer, pushConfig, startConfigPush } from '../../parent/config-push';
import { receiveConfig } from '../../enclave/config-receiver';
import { parseArgs } from '../../parent/config-push/main';
import { encodeFrame } from '../../contract/config-push-protocol';
import type { LogEntry } from '../../contract/log';
import { type Address, parseAddress } from '../../transport/address';
import { type TestBuild, buildForTests } from '../enclave/support/build';
import { type SupervisorProcess, startSupervisor } from '../enclave/support/supervisor';

const GOOD = { users: [], outbound: [], apps: {} };
const BAD = { users: 'everyone' };

let tmp: string;
let counter = 0;
const socketAddress = (): Address => ({ kind: 'unix', path: join(tmp, `push-${++counter}.sock`) });

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-config-push-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The receiver as the supervisor runs it: the config loader decides. */
function receive(listen: Address, logs: LogEntry[] = [], signal?: AbortSignal) {
  return new Promise<{ done: Promise<ReturnType<typeof parseConfigText>> }>((resolve, reject) => {
    const done = receiveConfig({
      listen,
      accept: (text, format) => {
        const loaded = parseConfigText(text, format);
        return { value: loaded, digest: loaded.digest.toString('hex') };
      },
      log: (entry) => logs.push(entry),
      signal,
      onListening: () => resolve({ done }),
    });
    done.catch(reject);
  });
}

describe('config push protocol', () => {
  test('a bad config is refused with the reason, the receiver keeps waiting, and a good one is accepted', async () => {
    const address = socketAddress();
    const logs: LogEntry[] = [];
    const { done } = await receive(address, logs);

    const refused = await pushConfig(address, JSON.stringify(BAD), 'json');
    expect(refused.ok).toBe(false);
    expect((refused as { error: string }).error).toMatch(/users/);
    const garbled = await pushConfig(address, '{not json', 'json');
    expect(garbled).toMatchObject({ ok: false, error: expect.stringMatching(/not valid JSON/) });

    const accepted = await pushConfig(address, 'users: []\noutbound: []\napps: {}\n', 'yaml');
    const digest = configDigest(GOOD).toString('hex');
    expect(accepted).toEqual({ ok: true, digest });
    const loaded = await done;
    expect(loaded.digest.toString('hex')).toBe(digest);
    expect(logs.map((l) => l.event)).toEqual(['config_waiting', 'config_refused', 'config_refused', 'config_received']);
    // Exactly one config: the receiver no longer listens.
    await expect(pushConfig(address, JSON.stringify(GOOD), 'json', 1_000)).rejects.toMatchObject({ code: expect.stringMatching(/ENOENT|ECONNREFUSED/) });
  });

  test('oversized and malformed frames are refused without reading them whole', async () => {
    const address = socketAddress();
    const { done } = await receive(address);
    const answer = await new Promise<string>((resolve) => {
      const socket = createConnection((address as { path: string }).path);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(64 * 1024 * 1024);
      socket.write(header);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.subarray(text === '' ? 4 : 0).toString()));
      socket.on('close', () => resolve(text));
    });
    expect(JSON.parse(answer)).toMatchObject({ ok: false, error: expect.stringMatching(/more than the \d+ accepted/) });
    const wrongVersion = await new Promise<string>((resolve) => {
      const socket = createConnection((address as { path: string }).path);
      socket.write(encodeFrame({ v: 2, format: 'json', config: '{}' }));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text.slice(4)));
    });
    expect(JSON.parse(wrongVersion)).toMatchObject({ ok: false, error: expect.stringMatching(/unsupported push version/) });
    // Still waiting: a good push is accepted.
    await expect(pushConfig(address, JSON.stringify(GOOD), 'json')).resolves.toMatchObject({ ok: true });
    await done;
  });

  test('aborting the wait stops listening', async () => {
    const address = socketAddress();
    const controller = new AbortController();
    const { done } = await receive(address, [], controller.signal).catch((e) => {
      throw e;
    });
    controller.abort(new Error('stopping'));
    await expect(done).rejects.toThrow('stopping');
  });
});

describe('the push loop', () => {
  test('retries until the enclave listens, and pushes again when it restarts', async () => {
    const address = socketAddress();
    const file = join(tmp, 'loop.json');
    writeFileSync(file, JSON.stringify(GOOD));
    const answers: PushAnswer[] = [];
    const logs: LogEntry[] = [];
    const pusher = startConfigPush({
      target: address,
      configPath: file,
      log: (e) => logs.push(e),
      minDelayMs: 20,
      maxDelayMs: 100,
      watchIntervalMs: 50,
      onAnswer: (a) => answers.push(a),
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 150)); // nobody listens yet: retries
      expect(logs).toContainEqual(expect.objectContaining({ event: 'config_push_waiting' }));
      const first = await (await receive(address)).done;
      // The enclave restarts: a new receiver waits at the same address and gets the config again.
      const second = await (await receive(address)).done;
      expect(second.digest.equals(first.digest)).toBe(true);
      await waitUntil(() => answers.filter((a) => a.ok).length === 2);
      expect(logs.filter((l) => l.event === 'config_pushed')).toHaveLength(2);
    } finally {
      await pusher.stop();
    }
  });

  test('a refused config is logged with the reason and retried; fixing the file is enough', async () => {
    const address = socketAddress();
    const file = join(tmp, 'fixed.json');
    writeFileSync(file, JSON.stringify(BAD));
    const logs: LogEntry[] = [];
    const { done } = await receive(address);
    const pusher = startConfigPush({ target: address, configPath: file, log: (e) => logs.push(e), minDelayMs: 20, maxDelayMs: 50 });
    try {
      await waitUntil(() => logs.some((l) => l.event === 'config_push_refused'));
      writeFileSync(file, JSON.stringify(GOOD));
      const loaded = await done;
      expect(loaded.digest).toEqual(configDigest(GOOD));
    } finally {
      await pusher.stop();
    }
  });

  test('main.js arguments', () => {
    expect(parseArgs(['--target', 'vsock://16:5002', '--config=c.json'])).toEqual({ target: parseAddress('vsock://16:5002'), config: 'c.json' });
    expect(() => parseArgs(['--target', 'vsock://16:5002'])).toThrow(/both --target and --config/);
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown option '--bogus'/);
    expect(() => parseArgs(['--target', 'vsock://16:5002', '--config', 'a.json', '--config', 'b.json'])).toThrow(/--config is given twice/);
  });
});

describe('the supervisor with --config-from', () => {
  let build: TestBuild;
  let sv: SupervisorProcess | undefined;
  beforeAll(() => {
    build = buildForTests();
  }, 30_000);
  afterAll(async () => {
    await sv?.stop();
    build?.remove();
  });

  test('waits for a push, refuses a bad config and keeps waiting, then boots with a good one (PCR16 = pcr16For(digest))', async () => {
    const address = socketAddress();
    const pcr0 = createHash('sha384').update('test image').digest('hex');
    sv = startSupervisor(build.dir, [
      '--config-from',
      `unix://${(address as { path: string }).path}`,
      '--nsm',
      'dev',
      '--dev-dir',
      join(tmp, 'dev'),
      '--pcr0',
      pcr0,
      '--ingress',
      'tcp://127.0.0.1:0',
      '--egress-relay',
      `unix://${join(tmp, 'relay.sock')}`,
    ]);
    await sv.waitFor('config_waiting');
    const refused = await pushConfig(address, JSON.stringify(BAD), 'json');
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/users/) });
    await sv.waitFor('config_refused');
    expect(sv.child.exitCode).toBeNull();

    const accepted = await pushConfig(address, JSON.stringify(GOOD), 'json');
    const digest = configDigest(GOOD);
    expect(accepted).toEqual({ ok: true, digest: digest.toString('hex') });
    const ready = await sv.ready;
    expect(ready.config).toBe(digest.toString('hex'));
    expect(ready.pcr16).toBe(pcr16For(digest).toString('hex'));
  }, 30_000);

  test('flags: exactly one of --config and --config-from', async () => {
    const both = startSupervisor(build.dir, ['--config', 'x.json', '--config-from', 'unix:///tmp/x.sock']);
    expect((await both.exited).code).toBe(2);
    expect(both.stderr()).toMatch(/either --config or --config-from/);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
