import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, generateIdentity, loadIdentity } from '../../client';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-identity-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failure = async (run: () => unknown) => {
  try {
    await run();
  } catch (e) {
    return e as ClientError;
  }
  throw new Error('it succeeded');
};

const posix = process.platform !== 'win32';

describe('generateIdentity', () => {
  it('writes a private P-256 key (mode 0600) and a self-signed certificate for CN=name, and returns the key: line', async () => {
    const out = join(dir, 'new', 'alice');
    const { dir: written, keyLine } = await generateIdentity('alice', out);
    expect(written).toBe(out);

    const key = createPrivateKey(readFileSync(join(out, 'key.pem')));
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const cert = new X509Certificate(readFileSync(join(out, 'cert.pem')));
    expect(cert.subject).toBe('CN=alice');
    expect(cert.issuer).toBe('CN=alice');
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 365 * 24 * 3_600_000);

    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    expect(keyLine).toBe(`sha256:${createHash('sha256').update(spki).digest('hex')}`);
    expect(keyLine).toMatch(/^sha256:[0-9a-f]{64}$/);
    if (posix) {
      expect(statSync(join(out, 'key.pem')).mode & 0o777).toBe(0o600);
      expect(statSync(out).mode & 0o077).toBe(0);
    }
  });

  it('gives a new key every time', async () => {
    const a = await generateIdentity('same', join(dir, 'same-1'));
    const b = await generateIdentity('same', join(dir, 'same-2'));
    expect(a.keyLine).not.toBe(b.keyLine);
  });

  it('refuses to overwrite an identity, or half of one, and leaves it as it was: IDENTITY_EXISTS', async () => {
    const out = join(dir, 'bob');
    await generateIdentity('bob', out);
    const key = readFileSync(join(out, 'key.pem'), 'utf8');
    const error = await failure(() => generateIdentity('bob', out));
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'IDENTITY_EXISTS', message: expect.stringContaining('never overwritten') });
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toBe(key);

    const halfway = join(dir, 'half');
    mkdirSync(halfway);
    writeFileSync(join(halfway, 'cert.pem'), 'someone else');
    expect(await failure(() => generateIdentity('carol', halfway))).toMatchObject({ code: 'IDENTITY_EXISTS' });
    expect(() => readFileSync(join(halfway, 'key.pem'))).toThrow();
  });

  it.each([[''], [' alice'], ['x'.repeat(65)], ['tab\tname'], ['émile']])('refuses the name %j: BAD_IDENTITY', async (name) => {
    expect(await failure(() => generateIdentity(name, join(dir, 'bad-name')))).toMatchObject({ code: 'BAD_IDENTITY' });
  });

  it('accepts any printable name, commas and equals signs included, as a plain CN', async () => {
    await generateIdentity('Smith, Ann=1', join(dir, 'ann'));
    expect(loadIdentity(join(dir, 'ann')).name).toBe('Smith, Ann=1');
  });
});

describe('loadIdentity', () => {
  it('reads what generateIdentity wrote', async () => {
    const out = join(dir, 'dora');
    const { keyLine } = await generateIdentity('dora', out);
    const identity = loadIdentity(out);
    expect(identity).toEqual({
      dir: out,
      name: 'dora',
      keyPem: readFileSync(join(out, 'key.pem'), 'utf8'),
      certPem: readFileSync(join(out, 'cert.pem'), 'utf8'),
      keyDigest: keyLine,
    });
  });

  it('refuses a directory without an identity, pointing at cloister keygen: BAD_IDENTITY', async () => {
    const error = await failure(() => loadIdentity(join(dir, 'nobody')));
    expect(error).toMatchObject({ code: 'BAD_IDENTITY', message: expect.stringMatching(/nobody.*key\.pem does not exist.*cloister keygen/) });
  });

  it('refuses a key that is not PEM, a certificate that is not PEM, and a key of another identity', async () => {
    const a = join(dir, 'mix-a');
    const b = join(dir, 'mix-b');
    await generateIdentity('a', a);
    await generateIdentity('b', b);

    const broken = join(dir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'key.pem'), 'not a key');
    writeFileSync(join(broken, 'cert.pem'), readFileSync(join(a, 'cert.pem')));
    expect(await failure(() => loadIdentity(broken))).toMatchObject({ code: 'BAD_IDENTITY', message: expect.stringContaining('is not a PEM private key') });

    writeFileSync(join(broken, 'key.pem'), readFileSync(join(a, 'key.pem')));
    writeFileSync(join(broken, 'cert.pem'), 'not a certificate');
    expect(await failure(() => loadIdentity(broken))).toMatchObject({ code: 'BAD_IDENTITY', message: expect.stringContaining('is not a PEM certificate') });

    writeFileSync(join(broken, 'cert.pem'), readFileSync(join(b, 'cert.pem')));
    expect(await failure(() => loadIdentity(broken))).toMatchObject({ code: 'BAD_IDENTITY', message: expect.stringContaining('different identities') });
  });
});
