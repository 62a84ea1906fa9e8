import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevNsm } from '../../attestation/dev';
import { createResultSigner } from '../../contract/signed-result';
import { createResultsKey } from '../../enclave/results-key';
import { CONFIG_DIGEST, bootNsm, goodPolicyJson } from '../client/fake-enclave';
import { cloister } from './run';

const CLAIMS = { app: 'psi', resource: 'session-7', participants: ['alice', 'bob'], result: { size: 3 } };

let dir: string;
let nsm: DevNsm;
let policy: string;
let jws: string;
let otherDocument: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-verify-result-cli-'));
  nsm = await bootNsm(join(dir, 'dev'));
  policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(goodPolicyJson(nsm)));
  const boot = () => createResultsKey(nsm, { config: CONFIG_DIGEST, instance: randomBytes(16), tlsSpki: randomBytes(91) });
  const [key, other] = [await boot(), await boot()];
  jws = await createResultSigner(key.material).sign(CLAIMS);
  otherDocument = join(dir, 'other.cbor');
  writeFileSync(otherDocument, Buffer.from(other.material.attestation!, 'base64url'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cloister verify-result', () => {
  it('verifies a JWS given on the command line: exit 0 and what the enclave signed', async () => {
    const { status, stdout } = await cloister('verify-result', jws, '--policy', policy);
    expect(status).toBe(0);
    expect(stdout).toContain('✓ VERIFIED signed result');
    expect(stdout).toContain('result       {"size":3}');
    expect(stdout).toContain('participants alice, bob');
  });

  it('reads the JWS from a file, or from a saved JSON response with a "jws" field, and reports JSON', async () => {
    const file = join(dir, 'result.jws');
    writeFileSync(file, `${jws}\n`);
    const response = join(dir, 'response.json');
    writeFileSync(response, JSON.stringify({ size: 3, jws }));
    for (const source of [file, response]) {
      const { status, stdout } = await cloister('verify-result', source, '--policy', policy, '--json');
      expect(status).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ valid: true, app: 'psi', resource: 'session-7', result: { size: 3 }, config: CONFIG_DIGEST.toString('hex') });
    }
  });

  it('refuses with exit 1 and the code: a document of another instance, a changed result', async () => {
    const other = await cloister('verify-result', jws, '--policy', policy, '--document', otherDocument, '--json');
    expect(other.status).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({ valid: false, code: 'KEY_NOT_ATTESTED', result: null });

    const [header, payload, signature] = jws.split('.');
    const changed = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('"size":3', '"size":4')).toString('base64url');
    const tampered = await cloister('verify-result', `${header}.${changed}.${signature}`, '--policy', policy);
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toContain('✗ REFUSED: BAD_SIGNATURE');
  });

  it('answers bad input with exit 2 and a sentence: no such file, no policy, JSON without jws', async () => {
    const missing = await cloister('verify-result', join(dir, 'nope.jws'), '--policy', policy);
    expect(missing).toMatchObject({ status: 2, stderr: expect.stringContaining('is neither a file nor a compact JWS') });
    expect((await cloister('verify-result', jws)).status).toBe(2);
    const noJws = join(dir, 'no-jws.json');
    writeFileSync(noJws, '{"size": 3}');
    expect(await cloister('verify-result', noJws, '--policy', policy)).toMatchObject({ status: 2, stderr: expect.stringContaining('without a "jws"') });
    expect((await cloister('verify-result', jws, '--policy', join(dir, 'missing-policy.json'))).status).toBe(2);
  });
});
