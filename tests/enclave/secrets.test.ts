import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { parseConfig } from '../../contract/config';
import { rootFromPem } from '../../attestation';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { DevNsm } from '../../attestation/dev';
import { KmsError } from '../../attestation/kms';
import { measureConfig } from '../../enclave/measure-config';
import { SecretError, releaseSecrets } from '../../enclave/secrets';
import { capturingLogger } from '../helpers/fixtures';
import { FAKE_KEY_ARN, FakeKms } from './fake-kms';
import { type TestBuild, buildForTests } from './support/build';
import { type SupervisorProcess, startSupervisor } from './support/supervisor';

const PCR0 = createHash('sha384').update('secrets test image').digest('hex');
const OTHER_PCR0 = createHash('sha384').update('another image').digest('hex');
const PLAINTEXT = 'correct horse battery staple ✓';
const OTHER_PLAINTEXT = 'sk_live_0123456789';
const onLinux = process.platform === 'linux' ? it : it.skip;

let tmp: string;
let fake: FakeKms;
let endpoint: string;
let ciphertext: string;
let otherCiphertext: string;

/** A configuration document with the given secrets, pointing at the fake KMS; `extra` makes it another configuration. */
const documentWith = (secrets: object[], extra: object = {}) => ({ users: [], secrets, kms: { region: 'us-east-1', endpoint }, ...extra });

/** A development NSM with PCR0 as given, whose PCR16 is extended with `document`'s digest and locked. */
async function measuredNsm(document: object, pcr0 = PCR0): Promise<DevNsm> {
  const nsm = await DevNsm.open({ dir: join(tmp, 'dev'), pcrs: { 0: pcr0 } });
  await measureConfig(nsm, configDigest(document));
  return nsm;
}

const testClient = () => new KMSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** Runs `promise` and returns the SecretError it rejects with. */
async function secretErrorOf(promise: Promise<unknown>): Promise<SecretError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof SecretError) return e;
    throw new Error(`expected a SecretError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a SecretError, but the secrets were released');
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-secrets-'));
  const root = (await DevNsm.open({ dir: join(tmp, 'dev') })).pki.rootCertificatePem;
  fake = new FakeKms(rootFromPem(root), { imageSha384: PCR0, pcr16: 'unset' });
  endpoint = await fake.start();
  ciphertext = fake.encrypt(PLAINTEXT);
  otherCiphertext = fake.encrypt(OTHER_PLAINTEXT);
});

afterAll(async () => {
  await fake?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  fake.calls.length = 0;
});

describe('releaseSecrets (the supervisor side, with a development NSM and the real KMS client)', () => {
  it('releases every secret to the enclave whose PCR0 and PCR16 the key policy names, as text by name', async () => {
    const document = documentWith([
      { name: 'DB_PASSWORD', ciphertext, keyId: FAKE_KEY_ARN },
      { name: 'API_TOKEN', ciphertext: otherCiphertext },
    ]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
    const logger = capturingLogger();

    const env = await releaseSecrets(parseConfig(document), await measuredNsm(document), logger.log, { kms: testClient() });

    expect(env).toEqual({ DB_PASSWORD: PLAINTEXT, API_TOKEN: OTHER_PLAINTEXT });
    expect(fake.calls).toEqual([
      { outcome: 'released', pcr16: fake.policy.pcr16 },
      { outcome: 'released', pcr16: fake.policy.pcr16 },
    ]);
    // Names and counts only: never a value or a ciphertext.
    expect(logger.lines.filter((l) => l.event === 'secret.released').map((l) => l.name)).toEqual(['DB_PASSWORD', 'API_TOKEN']);
    expect(logger.lines.find((l) => l.event === 'secrets.released')).toMatchObject({ count: 2 });
    for (const hidden of [PLAINTEXT, OTHER_PLAINTEXT, ciphertext, otherCiphertext]) expect(logger.text()).not.toContain(hidden);
  });

  it('makes its own client from config.kms (endpoint override and region) with credentials from the environment', async () => {
    const document = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    try {
      const env = await releaseSecrets(parseConfig(document), await measuredNsm(document), capturingLogger().log, { env: {} });
      expect(env).toEqual({ DB_PASSWORD: PLAINTEXT });
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.key],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('gets AccessDenied for another configuration (another PCR16), naming the secret and never its value', async () => {
    const allowed = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
    const other = documentWith([{ name: 'DB_PASSWORD', ciphertext }], { outbound: [{ host: 'attacker.example', port: 443 }] });
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(allowed)).toString('hex') };
    const logger = capturingLogger();

    const error = await secretErrorOf(releaseSecrets(parseConfig(other), await measuredNsm(other), logger.log, { kms: testClient() }));

    expect(error.code).toBe('SECRET_NOT_RELEASED');
    expect(error.secretName).toBe('DB_PASSWORD');
    expect(error.message).toContain('DB_PASSWORD');
    expect(error.message).toContain('AccessDeniedException');
    expect(error.message).not.toContain(PLAINTEXT);
    expect(error.message).not.toContain(ciphertext);
    expect(error.cause).toBeInstanceOf(KmsError);
    expect((error.cause as KmsError).awsErrorName).toBe('AccessDeniedException');
    expect(fake.calls).toEqual([expect.objectContaining({ outcome: 'denied', pcr16: pcr16For(configDigest(other)).toString('hex') })]);
    expect(logger.text()).not.toContain(PLAINTEXT);
    expect(logger.lines.some((l) => l.event === 'secret.released')).toBe(false);
  });

  it('gets AccessDenied for another image (another PCR0) with the right configuration', async () => {
    const document = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
    const error = await secretErrorOf(
      releaseSecrets(parseConfig(document), await measuredNsm(document, OTHER_PCR0), capturingLogger().log, { kms: testClient() }),
    );
    expect(error).toMatchObject({ code: 'SECRET_NOT_RELEASED', secretName: 'DB_PASSWORD' });
    expect(fake.calls.map((c) => c.outcome)).toEqual(['denied']);
  });

  it('gets nothing before PCR16 is measured and locked (the document carries no PCR16)', async () => {
    const document = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
    const unmeasured = await DevNsm.open({ dir: join(tmp, 'dev'), pcrs: { 0: PCR0 } });
    const error = await secretErrorOf(releaseSecrets(parseConfig(document), unmeasured, capturingLogger().log, { kms: testClient() }));
    expect(error.code).toBe('SECRET_NOT_RELEASED');
    expect(fake.released).toBe(0);
  });

  it('stops at the first refused secret, naming that one', async () => {
    const document = documentWith([
      { name: 'FIRST', ciphertext },
      { name: 'SECOND', ciphertext: Buffer.from('not a blob the fake made').toString('base64') },
      { name: 'THIRD', ciphertext: otherCiphertext },
    ]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
    const error = await secretErrorOf(releaseSecrets(parseConfig(document), await measuredNsm(document), capturingLogger().log, { kms: testClient() }));
    expect(error).toMatchObject({ code: 'SECRET_NOT_RELEASED', secretName: 'SECOND' });
    expect(error.message).toContain('InvalidCiphertextException');
    expect(fake.calls.map((c) => c.outcome)).toEqual(['released', 'invalid']);
  });

  it.each([
    ['bytes that are not UTF-8', Buffer.from([0x66, 0xff, 0xfe, 0x00, 0x80])],
    ['text with a NUL character', Buffer.from('abc\0def')],
  ])('refuses a released plaintext of %s, which cannot be an environment variable', async (_what, plaintext) => {
    const blob = fake.encrypt(plaintext);
    const document = documentWith([{ name: 'BINARY_KEY', ciphertext: blob }]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
    const error = await secretErrorOf(releaseSecrets(parseConfig(document), await measuredNsm(document), capturingLogger().log, { kms: testClient() }));
    expect(error).toMatchObject({ code: 'SECRET_NOT_TEXT', secretName: 'BINARY_KEY' });
    expect(error.message).toMatch(/BINARY_KEY.*(UTF-8|NUL)/);
    expect(error.message).not.toContain('def');
  });

  it('asks nothing of KMS (and needs no region) when there are no secrets', async () => {
    const nsm = await DevNsm.open({ dir: join(tmp, 'dev'), pcrs: { 0: PCR0 } });
    expect(await releaseSecrets(parseConfig({ users: [] }), nsm, capturingLogger().log, { env: {} })).toEqual({});
    expect(fake.calls).toEqual([]);
  });

  it('refuses to guess a KMS region', async () => {
    const document = { users: [], secrets: [{ name: 'DB_PASSWORD', ciphertext }] };
    const error = await secretErrorOf(releaseSecrets(parseConfig(document), await measuredNsm(document), capturingLogger().log, { env: {} }));
    expect(error.code).toBe('KMS_NOT_CONFIGURED');
    expect(error.message).toMatch(/kms\.region|AWS_REGION/);
  });

  it('keeps the plaintext out of the configuration digest: only the ciphertext is measured', () => {
    const document = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
    const canonical = JSON.stringify(document);
    expect(canonical).toContain(ciphertext);
    expect(canonical).not.toContain(PLAINTEXT);
    // Another ciphertext (e.g. the same secret re-encrypted) is another configuration.
    expect(configDigest(documentWith([{ name: 'DB_PASSWORD', ciphertext: otherCiphertext }])).equals(configDigest(document))).toBe(false);
  });
});

describe('a booted supervisor with secrets (development NSM, fake KMS by endpoint override)', () => {
  let build: TestBuild;
  const started: SupervisorProcess[] = [];
  const awsEnv = () => ({ ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });

  function supervisor(document: object, name: string): SupervisorProcess {
    const configPath = join(tmp, `${name}.json`);
    writeFileSync(configPath, JSON.stringify(document));
    const args = ['--config', configPath, '--nsm', 'dev', '--dev-dir', join(tmp, 'dev'), '--pcr0', PCR0, '--ingress', 'tcp://127.0.0.1:0'];
    const sv = startSupervisor(build.dir, args, awsEnv());
    started.push(sv);
    return sv;
  }

  /** Everything a supervisor wrote: its JSON lines (and its app's) and stderr. */
  const output = (sv: SupervisorProcess) => `${sv.lines.map((l) => JSON.stringify(l)).join('\n')}\n${sv.stderr()}`;

  beforeAll(() => {
    build = buildForTests();
  });

  afterAll(async () => {
    await Promise.all(started.map((sv) => sv.stop()));
    build?.remove();
  });

  onLinux(
    'releases the secret to the attested supervisor, which hands it to the app in its environment and logs only its name',
    async () => {
      const document = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
      fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(document)).toString('hex') };
      const sv = supervisor(document, 'allowed');

      const ready = await sv.ready;

      expect(ready.pcr16).toBe(fake.policy.pcr16);
      expect(fake.calls).toEqual([{ outcome: 'released', pcr16: fake.policy.pcr16 }]);
      const appPid = (await sv.waitFor('app.ready')).pid as number;
      const environment = readFileSync(`/proc/${appPid}/environ`, 'utf8').split('\0');
      expect(environment).toContain(`DB_PASSWORD=${PLAINTEXT}`);
      // The supervisor keeps no copy in its own environment.
      expect(readFileSync(`/proc/${sv.child.pid}/environ`, 'utf8')).not.toContain(PLAINTEXT);
      expect(sv.lines.find((l) => l.event === 'secret.released')).toMatchObject({ name: 'DB_PASSWORD' });
      expect(output(sv)).not.toContain(PLAINTEXT);
      await sv.stop();
    },
    20_000,
  );

  it('refuses another configuration: KMS denies, the supervisor exits 1 naming the secret, and no app starts', async () => {
    const allowed = documentWith([{ name: 'DB_PASSWORD', ciphertext }]);
    fake.policy = { imageSha384: PCR0, pcr16: pcr16For(configDigest(allowed)).toString('hex') };
    const other = documentWith([{ name: 'DB_PASSWORD', ciphertext }], { outbound: [{ host: 'attacker.example', port: 443 }] });
    const sv = supervisor(other, 'other');

    const { code } = await sv.exited;

    expect(code).toBe(1);
    expect(sv.stderr()).toMatch(/DB_PASSWORD/);
    expect(sv.stderr()).toMatch(/AccessDeniedException/);
    expect(output(sv)).not.toContain(PLAINTEXT);
    expect(output(sv)).not.toContain(ciphertext);
    expect(sv.lines.some((l) => l.event === 'app.ready' || l.event === 'ready')).toBe(false);
    expect(fake.calls).toEqual([expect.objectContaining({ outcome: 'denied', pcr16: pcr16For(configDigest(other)).toString('hex') })]);
  }, 20_000);
});
