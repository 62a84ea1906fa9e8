import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevNsm } from '../../attestation/dev';
import { loadIdentity } from '../../client';
import { CONFIG_DIGEST, type FakeEnclave, type RecordingServer, bootNsm, goodPolicyJson, startFakeEnclave, startMitm } from '../client/fake-enclave';
import { cloister } from './run';

const ATTESTATION_GET = /^GET \/\.well-known\/cloister\/attestation\?nonce=[0-9a-f]{64}$/;

let dir: string;
let nsm: DevNsm;
let enclave: FakeEnclave;
let mitm: RecordingServer;
let alice: string;
let keyDigest: string;
let goodPolicy: string;

function policyFile(name: string, changes: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...goodPolicyJson(nsm), ...changes }));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-cli-call-'));
  nsm = await bootNsm(join(dir, 'dev'));
  enclave = await startFakeEnclave({ nsm });
  mitm = await startMitm(enclave);
  alice = join(dir, 'alice');
  expect((await cloister('keygen', 'alice', '--out', alice)).status).toBe(0);
  keyDigest = loadIdentity(alice).keyDigest;
  goodPolicy = policyFile('good', {});
});
afterAll(async () => {
  await Promise.all([enclave.close(), mitm.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const call = (url: string, ...flags: string[]) => cloister('call', url, '--identity', alice, '--policy', goodPolicy, ...flags);
const awsPolicy = () => policyFile('aws', { root: 'aws' });

describe('cloister call', () => {
  it('makes one attested request as the identity: the body on stdout, the status on stderr, exit 0', async () => {
    const { status, stdout, stderr } = await call(`${enclave.url}/hello?x=1`);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ method: 'GET', path: '/hello?x=1', client: keyDigest, contentType: null, body: '' });
    expect(stderr).toContain('HTTP 200 OK');
    expect(stderr).toContain(`attested ${nsm.moduleId}`);
    expect(stderr).toContain(`as alice (${keyDigest})`);
  });

  it('sends -d as a POST, JSON as application/json, with -X and -H as given', async () => {
    const post = await call(`${enclave.url}/submit`, '-d', '{"wealth": "120.5"}');
    expect(JSON.parse(post.stdout)).toMatchObject({ method: 'POST', contentType: 'application/json', body: '{"wealth": "120.5"}' });

    const put = await call(`${enclave.url}/submit`, '-X', 'put', '-d', 'a,b\nc,d', '-H', 'Content-Type: text/csv');
    expect(JSON.parse(put.stdout)).toMatchObject({ method: 'PUT', contentType: 'text/csv', body: 'a,b\nc,d' });
  });

  it('reads -d @FILE', async () => {
    const file = join(dir, 'items.txt');
    writeFileSync(file, 'x\ny\n');
    const { stdout } = await call(`${enclave.url}/items`, '-d', `@${file}`);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'POST', contentType: 'application/octet-stream', body: 'x\ny\n' });
  });

  it('reports status, headers, the parsed body and the attested server with --json', async () => {
    const { status, stdout } = await call(`${enclave.url}/json`, '--json');
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: true,
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { path: '/json', client: keyDigest },
      server: {
        url: enclave.url,
        moduleId: nsm.moduleId,
        publicKey: `sha256:${createHash('sha256').update(enclave.tls.spki).digest('hex')}`,
        config: CONFIG_DIGEST.toString('hex'),
        instance: enclave.instance.toString('hex'),
      },
      refused: null,
    });
  });

  it('exits 1 for an answer that is not 2xx, still printing it', async () => {
    const { status, stdout, stderr } = await call(`${enclave.url}/teapot`);
    expect(status).toBe(1);
    expect(JSON.parse(stdout).path).toBe('/teapot');
    expect(stderr).toContain('HTTP 418');
  });

  it.each([
    ['a PCR differs', 'PCR_MISMATCH', () => ({ server: enclave, watched: [enclave], policy: policyFile('pcr', { pcrs: { 2: ['b2'.repeat(48)] } }) })],
    [
      'the configuration differs',
      'USER_DATA_MISMATCH',
      () => ({ server: enclave, watched: [enclave], policy: policyFile('config', { config: 'cc'.repeat(48) }) }),
    ],
    ['a man in the middle relays the document', 'PUBLIC_KEY_MISMATCH', () => ({ server: mitm, watched: [mitm, enclave], policy: goodPolicy })],
  ])('refuses when %s: exit 1, %s, and the body never leaves', async (_case, code, setup) => {
    const { server, watched, policy } = setup();
    const secret = `SECRET-${randomBytes(8).toString('hex')}`;
    const before = watched.map((s) => ({ requests: s.requests.length, bytes: s.received().length }));
    const text = await cloister('call', `${server.url}/submit`, '-d', secret, '--identity', alice, '--policy', policy);
    expect(text.status).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain(`refused ${server.url}: ${code}`);
    const json = await cloister('call', `${server.url}/submit`, '-d', secret, '--identity', alice, '--policy', policy, '--json');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, status: null, refused: { code } });
    for (const [i, s] of watched.entries()) {
      const seen = s.requests.slice(before[i]!.requests);
      expect(seen.length).toBeGreaterThan(0);
      for (const line of seen) expect(line).toMatch(ATTESTATION_GET);
      expect(s.received().slice(before[i]!.bytes)).not.toContain(secret);
    }
  });

  it.each([
    [
      '--dev naming no readable root',
      () => ['call', `${enclave.url}/x`, '--identity', alice, '--policy', awsPolicy(), '--dev', join(dir, 'none.pem')],
      /--dev: cannot read/,
    ],
    ['a missing identity', () => ['call', `${enclave.url}/x`, '--identity', join(dir, 'nobody'), '--policy', goodPolicy], /cloister keygen/],
    ['no --identity', () => ['call', `${enclave.url}/x`, '--policy', goodPolicy], /required option '--identity <dir>'/],
    [
      'an unreachable server',
      () => ['call', 'https://127.0.0.1:1/x', '--identity', alice, '--policy', goodPolicy],
      /connection failed: connect ECONNREFUSED 127\.0\.0\.1:1/,
    ],
    ['an http: URL', () => ['call', `http://127.0.0.1:1/x`, '--identity', alice, '--policy', goodPolicy], /not an https: URL/],
    [
      'a header without a colon',
      () => ['call', `${enclave.url}/x`, '-H', 'Accept', '--identity', alice, '--policy', goodPolicy],
      /-H "Accept" is not a header/,
    ],
    [
      'a method that is not one',
      () => ['call', `${enclave.url}/x`, '-X', 'GE T', '--identity', alice, '--policy', goodPolicy],
      /-X GE T is not an HTTP method/,
    ],
    [
      'an unreadable -d @file',
      () => ['call', `${enclave.url}/x`, '-d', `@${join(dir, 'absent')}`, '--identity', alice, '--policy', goodPolicy],
      /Cannot read the request body/,
    ],
    ['a timeout that is not positive', () => ['call', `${enclave.url}/x`, '--timeout', '0', '--identity', alice, '--policy', goodPolicy], /--timeout 0/],
  ])('exits 2 for %s, sending nothing but at most an attestation GET', async (_what, argv, message) => {
    const before = enclave.requests.length;
    const { status, stderr } = await cloister(...argv());
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    for (const line of enclave.requests.slice(before)) expect(line).toMatch(ATTESTATION_GET);
  });
});
