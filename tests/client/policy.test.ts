import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AWS_NITRO_ROOT_G1_SHA256, AttestationError } from '../../attestation';
import { configDigest } from '../../contract/config-digest';
import { DevPki } from '../../attestation/dev';
import { loadPolicy, parsePolicy } from '../../client';

const PCR0 = 'a0'.repeat(48);
const CONFIG = { users: [{ name: 'alice', role: 'member', key: `sha256:${'1'.repeat(64)}` }], apps: { hello: {} } };

let dir: string;
let pki: DevPki;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-policy-'));
  pki = await DevPki.open({ dir: join(dir, 'dev') });
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'cloister.config.json'), JSON.stringify(CONFIG));
  // The same configuration in YAML, keys in another order: the same digest.
  writeFileSync(
    join(dir, 'conf', 'cloister.config.yaml'),
    'apps: { hello: {} }\nusers:\n  - { role: member, name: alice, key: "sha256:' + '1'.repeat(64) + '" }\n',
  );
  writeFileSync(join(dir, 'conf', 'broken.json'), '{"users": [');
  writeFileSync(join(dir, 'not-a-cert.pem'), 'hello');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (e) {
    return e as AttestationError;
  }
  throw new Error('the policy was accepted');
};

describe('parsePolicy', () => {
  it('reads the AWS root, PCRs as lists or single values (lower-cased), and the defaults', () => {
    const policy = parsePolicy({ root: 'aws', pcrs: { 0: [PCR0.toUpperCase(), 'b0'.repeat(48)], 8: 'c8'.repeat(48) } }, dir);
    expect(policy.root.sha256).toBe(AWS_NITRO_ROOT_G1_SHA256);
    expect(policy.pcrs).toEqual({ 0: [PCR0, 'b0'.repeat(48)], 8: ['c8'.repeat(48)] });
    expect(policy.maxAgeMs).toBe(300_000);
    expect(policy.allowDebug).toBe(false);
    expect(policy.configDigest).toBeUndefined();
  });

  it('reads a development root by path, relative to the policy, and the optional fields', () => {
    const policy = parsePolicy({ root: 'dev/root/cert.pem', pcrs: { 0: [PCR0] }, maxAgeSeconds: 30, allowDebug: true, config: 'AB'.repeat(48) }, dir);
    expect(Buffer.from(policy.root.der)).toEqual(pki.rootCertificateDer);
    expect(policy).toMatchObject({ maxAgeMs: 30_000, allowDebug: true, configDigest: Buffer.from('ab'.repeat(48), 'hex') });
  });

  it('digests a configuration file, JSON or YAML, as the enclave does', () => {
    const json = parsePolicy({ root: 'aws', pcrs: { 0: PCR0 }, config: 'conf/cloister.config.json' }, dir);
    const yaml = parsePolicy({ root: 'aws', pcrs: { 0: PCR0 }, config: join(dir, 'conf', 'cloister.config.yaml') }, '/elsewhere');
    expect(json.configDigest).toEqual(configDigest(CONFIG));
    expect(yaml.configDigest).toEqual(configDigest(CONFIG));
  });

  const good = { root: 'aws', pcrs: { 0: [PCR0] } };
  it.each([
    ['not an object', [], /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['an unknown field', { ...good, pcr: {} }, /unknown field "pcr"/],
    ['no root', { pcrs: good.pcrs }, /"root" must be "aws" or the path/],
    ['a root that is not text', { ...good, root: 1 }, /"root" must be/],
    ['an unreadable root', { ...good, root: 'nope.pem' }, /"root": cannot read .*nope\.pem \(ENOENT\)/],
    ['a root that is no certificate', { ...good, root: 'not-a-cert.pem' }, /not-a-cert\.pem is not a PEM certificate/],
    ['no PCRs', { root: 'aws' }, /"pcrs" must be an object/],
    ['empty PCRs', { ...good, pcrs: {} }, /names no PCR, so any enclave would be accepted/],
    ['PCRs as a list', { ...good, pcrs: [PCR0] }, /"pcrs" must be an object/],
    ['a PCR index past 31', { ...good, pcrs: { 32: [PCR0] } }, /"32" is not a PCR index/],
    ['a PCR index that is no number', { ...good, pcrs: { zero: [PCR0] } }, /"zero" is not a PCR index/],
    ['a short PCR value', { ...good, pcrs: { 0: ['abc'] } }, /PCR0 value "abc…" is not 96 hex digits/],
    ['a PCR value that is a number', { ...good, pcrs: { 0: 5 } }, /"pcrs"\."0" must be a hex string or an array/],
    ['an empty list of PCR values', { ...good, pcrs: { 0: [] } }, /PCR0 lists no accepted value/],
    ['a config that is not text', { ...good, config: 7 }, /"config" must be a configuration digest/],
    ['an unreadable config file', { ...good, config: 'conf/missing.yaml' }, /"config": cannot read .*missing\.yaml/],
    ['a config file that is not JSON', { ...good, config: 'conf/broken.json' }, /"config": .*broken\.json is not valid JSON/],
    ['a zero maximum age', { ...good, maxAgeSeconds: 0 }, /"maxAgeSeconds" must be a positive number/],
    ['a negative maximum age', { ...good, maxAgeSeconds: -5 }, /"maxAgeSeconds"/],
    ['a maximum age as text', { ...good, maxAgeSeconds: '300' }, /"maxAgeSeconds"/],
    ['allowDebug as text', { ...good, allowDebug: 'yes' }, /"allowDebug" must be true or false/],
  ])('refuses %s: BAD_POLICY naming the field', (_what, json, message) => {
    const error = refusal(() => parsePolicy(json, dir, 'policy.json'));
    expect(error).toBeInstanceOf(AttestationError);
    expect(error.code).toBe('BAD_POLICY');
    expect(error.message).toMatch(/^The client policy policy\.json is invalid: /);
    expect(error.message).toMatch(message);
  });
});

describe('loadPolicy', () => {
  it('reads a policy file, resolving its paths against its own directory', () => {
    const file = join(dir, 'dev', 'policy.json');
    writeFileSync(file, JSON.stringify({ root: 'root/cert.pem', pcrs: { 0: [PCR0] }, config: '../conf/cloister.config.yaml' }));
    const policy = loadPolicy(file);
    expect(Buffer.from(policy.root.der)).toEqual(pki.rootCertificateDer);
    expect(policy.configDigest).toEqual(configDigest(CONFIG));
  });

  it('refuses a missing file or one that is not JSON: BAD_POLICY naming the file', () => {
    const missing = refusal(() => loadPolicy(join(dir, 'absent.json')));
    expect(missing).toMatchObject({ code: 'BAD_POLICY', message: expect.stringMatching(/absent\.json.*cannot read/) });
    const text = join(dir, 'text.json');
    writeFileSync(text, 'root: aws');
    expect(refusal(() => loadPolicy(text))).toMatchObject({ code: 'BAD_POLICY', message: expect.stringMatching(/text\.json is invalid: not valid JSON/) });
  });

  it('reads no file past its bound: an endless policy, root or configuration is BAD_POLICY naming it and the limit', () => {
    const tooLarge = { code: 'BAD_POLICY', message: expect.stringContaining('/dev/zero is larger than 1 MiB') };
    expect(refusal(() => loadPolicy('/dev/zero'))).toMatchObject(tooLarge);
    expect(refusal(() => parsePolicy({ root: '/dev/zero', pcrs: { 0: PCR0 } }, dir))).toMatchObject(tooLarge);
    expect(refusal(() => parsePolicy({ root: 'aws', pcrs: { 0: PCR0 }, config: '/dev/zero' }, dir))).toMatchObject(tooLarge);
  });
});
