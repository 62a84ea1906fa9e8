import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevNsm } from '../../attestation/dev';
import {
  CONFIG_DIGEST,
  type FakeEnclave,
  PCR0,
  PCR1,
  PCR16,
  type RecordingServer,
  bootNsm,
  goodPolicyJson,
  startFakeEnclave,
  startMitm,
  tlsMaterial,
} from '../client/fake-enclave';
import { cloister } from './run';

let dir: string;
let nsm: DevNsm;
let enclave: FakeEnclave;
let mitm: RecordingServer;
let plain: ReturnType<typeof createServer>;
let plainUrl: string;

/** Writes a policy file accepting the fake enclave, with `changes`, and returns its path. */
function policyFile(name: string, changes: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...goodPolicyJson(nsm), ...changes }));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-cli-attest-'));
  nsm = await bootNsm(join(dir, 'dev'));
  enclave = await startFakeEnclave({ nsm });
  mitm = await startMitm(enclave);
  const tls = await tlsMaterial('plain');
  plain = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  plainUrl = `https://127.0.0.1:${(plain.address() as AddressInfo).port}`;
});
afterAll(async () => {
  plain.closeAllConnections();
  await Promise.all([enclave.close(), mitm.close(), new Promise((resolve) => plain.close(resolve))]);
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('cloister attest', () => {
  it('verifies a live server with --dev: exit 0, and --json reports the public_key it presented', async () => {
    const { status, stdout } = await cloister('attest', enclave.url, '--policy', policyFile('good'), '--json');
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      valid: true,
      code: null,
      url: enclave.url,
      moduleId: nsm.moduleId,
      public_key: enclave.tls.spki.toString('hex'),
      presentedKey: enclave.tls.spki.toString('hex'),
      presentedKeyDigest: sha256(enclave.tls.spki),
      config: CONFIG_DIGEST.toString('hex'),
      expectedConfig: CONFIG_DIGEST.toString('hex'),
      instance: enclave.instance.toString('hex'),
      pcrChecks: { 0: true, 1: true, 2: true, 16: true },
    });
    expect(report.pcrs).toMatchObject({ 0: PCR0, 16: PCR16 });
    expect(Date.now() - report.timestamp).toBeLessThan(60_000);
  });

  it('prints a readable report: the PCR table with ✓, the key, the configuration, the instance', async () => {
    const { status, stdout } = await cloister('attest', enclave.url, '--policy', policyFile('good'));
    expect(status).toBe(0);
    expect(stdout).toContain(`✓ VERIFIED ${enclave.url}`);
    expect(stdout).toContain(`✓  0 ${PCR0}`);
    expect(stdout).toContain(`✓ 16 ${PCR16}`);
    expect(stdout).toContain(`✓ public key  ${sha256(enclave.tls.spki)}`);
    expect(stdout).toContain(`✓ config      ${CONFIG_DIGEST.toString('hex')}`);
    expect(stdout).toContain(`instance    ${enclave.instance.toString('hex')}`);
    expect(stdout).toContain('cloister-dev-root');
  });

  it('trusts the development root a policy names, without --dev: the policy file is the trust decision', async () => {
    const { status, stdout } = await cloister('attest', enclave.url, '--policy', policyFile('good'), '--json');
    expect(status).toBe(0);
    expect(JSON.parse(stdout).valid).toBe(true);
  });

  it('with --dev ROOT, runs a policy trusting AWS against a development enclave', async () => {
    const aws = policyFile('aws-with-dev', { root: 'aws' });
    const { status, stdout } = await cloister('attest', enclave.url, '--policy', aws, '--dev', nsm.pki.rootCertificatePath, '--json');
    expect(status).toBe(0);
    expect(JSON.parse(stdout).valid).toBe(true);
  });

  it('exits 2, sending nothing, when --dev names no readable root', async () => {
    const before = enclave.connections();
    const { status, stderr } = await cloister('attest', enclave.url, '--policy', policyFile('aws-no-root', { root: 'aws' }), '--dev', join(dir, 'none.pem'));
    expect(status).toBe(2);
    expect(stderr).toMatch(/--dev: cannot read the development root/);
    expect(enclave.connections()).toBe(before);
  });

  it('refuses a development document under the AWS root: exit 1, BAD_CHAIN', async () => {
    const { status, stdout } = await cloister('attest', enclave.url, '--policy', policyFile('aws', { root: 'aws' }), '--json');
    expect(status).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ valid: false, code: 'BAD_CHAIN' });
  });

  it('refuses a PCR that differs: exit 1, ✗ in the table', async () => {
    const policy = policyFile('pcr', { pcrs: { 0: [PCR0], 1: ['b1'.repeat(48)] } });
    const json = await cloister('attest', enclave.url, '--policy', policy, '--json');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, code: 'PCR_MISMATCH', pcrChecks: { 0: true, 1: false } });
    const text = await cloister('attest', enclave.url, '--policy', policy);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`✗ REFUSED ${enclave.url}: PCR_MISMATCH`);
    expect(text.stdout).toContain(`✗  1 ${PCR1}`);
    expect(text.stdout).toContain(`✓  0 ${PCR0}`);
  });

  it('refuses another configuration: exit 1, ✗ config with the one expected', async () => {
    const { status, stdout } = await cloister('attest', enclave.url, '--policy', policyFile('config', { config: 'cc'.repeat(48) }));
    expect(status).toBe(1);
    expect(stdout).toContain('USER_DATA_MISMATCH');
    expect(stdout).toContain(`✗ config      ${CONFIG_DIGEST.toString('hex')}`);
    expect(stdout).toContain(`expected ${'cc'.repeat(48)}`);
  });

  it('refuses a man in the middle: exit 1, PUBLIC_KEY_MISMATCH, both keys reported', async () => {
    const { status, stdout } = await cloister('attest', mitm.url, '--policy', policyFile('good'), '--json');
    expect(status).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      valid: false,
      code: 'PUBLIC_KEY_MISMATCH',
      public_key: enclave.tls.spki.toString('hex'),
      presentedKey: mitm.tls.spki.toString('hex'),
    });
    const text = await cloister('attest', mitm.url, '--policy', policyFile('good'));
    expect(text.stdout).toContain(`✗ public key  ${sha256(mitm.tls.spki)} was presented`);
    expect(text.stdout).toContain(`but the document binds ${sha256(enclave.tls.spki)}`);
  });

  it('refuses a server that serves no document: exit 1, NO_ATTESTATION', async () => {
    const { status, stdout } = await cloister('attest', plainUrl, '--policy', policyFile('good'), '--json');
    expect(status).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ valid: false, code: 'NO_ATTESTATION', moduleId: null, pcrs: {} });
  });

  it.each([
    ['a URL that is not https:', () => ['attest', 'http://127.0.0.1:1', '--policy', policyFile('good')], /not an https: URL/],
    ['an unreachable server', () => ['attest', 'https://127.0.0.1:1', '--policy', policyFile('good')], /Cannot reach 127\.0\.0\.1:1/],
    ['a missing policy file', () => ['attest', enclave.url, '--policy', join(dir, 'absent.json')], /absent\.json is invalid: cannot read/],
    ['an invalid policy', () => ['attest', enclave.url, '--policy', policyFile('bad', { pcrs: {} })], /names no PCR/],
    ['no --policy', () => ['attest', enclave.url], /required option '--policy <file>'/],
  ])('exits 2 for %s', async (_what, argv, message) => {
    const { status, stderr } = await cloister(...argv());
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
  });
});
