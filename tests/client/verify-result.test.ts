import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose';
import { readAttestation } from '../../attestation';
import type { DevNsm } from '../../attestation/dev';
import { decodeIngressBinding, encodeIngressBinding } from '../../attestation/ingress-binding';
import { verifyResult } from '../../client';
import { configDigest } from '../../contract/config-digest';
import { type ResultClaims, createResultSigner } from '../../contract/signed-result';
import { createResultsKey } from '../../enclave/results-key';
import { testResultSigner } from '../../express/testing';
import { hasControlCharacters } from '../helpers/control-characters';
import { CONFIG_DIGEST, bootNsm, policyFor } from './fake-enclave';

const CLAIMS: ResultClaims = { app: 'millionaire', resource: 'round-1', participants: ['alice', 'bob'], result: { richest: ['bob'] } };
const TLS_SPKI = randomBytes(91);

let dir: string;
let nsm: DevNsm;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-verify-result-'));
  nsm = await bootNsm(join(dir, 'dev'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An instance as boot makes it: a results key and the document binding it, on `nsm`. */
const instance = (config: Buffer = CONFIG_DIGEST, on: DevNsm = nsm) => createResultsKey(on, { config, instance: randomBytes(16), tlsSpki: TLS_SPKI });

/** What verifying `jws` throws: its code, or 'ACCEPTED'. */
async function refusal(jws: string, options: { document?: Uint8Array } = {}, policy = policyFor(nsm)): Promise<string> {
  try {
    await verifyResult(jws, policy, options);
    return 'ACCEPTED';
  } catch (e) {
    return (e as { code?: string }).code ?? `not a coded error: ${String(e)}`;
  }
}

/** `jws` with its payload replaced by `payload`, the signature kept. */
const withPayload = (jws: string, payload: unknown) => {
  const [header, , signature] = jws.split('.');
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
};
const payloadOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('a signed result', () => {
  it('verifies under the policy with the document it carries, and says what was computed, where and when', async () => {
    const key = await instance();
    const before = Date.now();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const verified = await verifyResult(jws, policyFor(nsm));
    expect(verified.payload).toEqual({ v: 1, ...CLAIMS, instance: key.material.instance, time: expect.any(String) });
    expect(Date.parse(verified.payload.time)).toBeGreaterThanOrEqual(before - 1000);
    expect(verified.instanceId).toBe(key.material.instance);
    expect(verified.configDigest).toBe(CONFIG_DIGEST.toString('hex'));
    expect(verified.document.moduleId).toBe(nsm.moduleId);
  });

  it('binds the thumbprint of its key in user_data, and carries no private key', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const header = decodeProtectedHeader(jws) as { jwk: JWK; attestation: string };
    expect(Object.keys(header.jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    const binding = decodeIngressBinding(readAttestation(Buffer.from(header.attestation, 'base64url')).userData);
    expect(Buffer.from(binding.results).toString('base64url')).toBe(await calculateJwkThumbprint(header.jwk, 'sha256'));
    expect(Buffer.from(binding.results)).toEqual(key.thumbprint);
  });

  it('verifies with any other document of the same instance, e.g. one fetched with a fresh nonce', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const userData = encodeIngressBinding({ config: CONFIG_DIGEST, instance: Buffer.from(key.material.instance, 'hex'), results: key.thumbprint });
    const fresh = await nsm.attestation({ publicKey: TLS_SPKI, userData, nonce: randomBytes(32) });
    await expect(verifyResult(jws, policyFor(nsm), { document: fresh })).resolves.toMatchObject({ payload: CLAIMS });
  });

  it('still verifies when its document is old: a stored result is checked at its document’s time', async () => {
    const hourAgo = await bootNsm(join(dir, 'an-hour-ago'), () => Date.now() - 3_600_000);
    const key = await instance(CONFIG_DIGEST, hourAgo);
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    expect(readAttestation(Buffer.from(key.material.attestation!, 'base64url')).timestamp).toBeLessThan(Date.now() - 3_000_000);
    await expect(verifyResult(jws, policyFor(hourAgo, { maxAgeSeconds: 60 }))).resolves.toMatchObject({ payload: CLAIMS });
  });
});

describe('refusals, each with its code', () => {
  it('refuses a result signed by another instance: KEY_NOT_ATTESTED', async () => {
    const [first, second] = await Promise.all([instance(), instance()]);
    const jws = await createResultSigner(first.material).sign(CLAIMS);
    const secondDocument = Buffer.from(second.material.attestation!, 'base64url');
    expect(await refusal(jws, { document: secondDocument })).toBe('KEY_NOT_ATTESTED');
    // A restarted enclave's key, passed off with the first instance's document in its header:
    const forged = await createResultSigner({ ...second.material, attestation: first.material.attestation }).sign(CLAIMS);
    expect(await refusal(forged)).toBe('KEY_NOT_ATTESTED');
  });

  it('refuses a payload that names another instance than the document: INSTANCE_MISMATCH', async () => {
    const key = await instance();
    const jws = await createResultSigner({ ...key.material, instance: randomBytes(16).toString('hex') }).sign(CLAIMS);
    expect(await refusal(jws)).toBe('INSTANCE_MISMATCH');
  });

  it('refuses a result of another configuration: USER_DATA_MISMATCH, and of other code: PCR_MISMATCH', async () => {
    const other = await instance(configDigest({ users: [] }));
    expect(await refusal(await createResultSigner(other.material).sign(CLAIMS))).toBe('USER_DATA_MISMATCH');
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    expect(await refusal(jws, {}, policyFor(nsm, { pcrs: { 0: ['b0'.repeat(48)] } }))).toBe('PCR_MISMATCH');
  });

  it('refuses a result whose answer was changed after signing: BAD_SIGNATURE', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    expect(await refusal(withPayload(jws, { ...payloadOf(jws), result: { richest: ['alice'] } }))).toBe('BAD_SIGNATURE');
    expect(await refusal(withPayload(jws, { ...payloadOf(jws), participants: ['alice', 'bob', 'mallory'] }))).toBe('BAD_SIGNATURE');
    const signature = jws.split('.')[2]!;
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expect(await refusal(`${jws.split('.').slice(0, 2).join('.')}.${flipped}`)).toBe('BAD_SIGNATURE');
  });

  it('refuses a JWS with any one character changed, whatever and wherever (property)', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    await fc.assert(
      fc.asyncProperty(fc.nat(jws.length - 1), fc.nat(alphabet.length - 1), async (at, pick) => {
        const replacement = alphabet[pick] === jws[at] ? alphabet[(pick + 1) % alphabet.length]! : alphabet[pick]!;
        const changed = `${jws.slice(0, at)}${replacement}${jws.slice(at + 1)}`;
        expect(await refusal(changed)).not.toBe('ACCEPTED');
      }),
      { numRuns: 60 },
    );
  });

  it('refuses what is no Cloister result: BAD_JWS', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const [, payload, signature] = jws.split('.');
    const header = decodeProtectedHeader(jws) as Record<string, unknown> & { jwk: JWK };
    const withHeader = (h: object) => `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${payload}.${signature}`;
    for (const bad of [
      '',
      'not a jws',
      `${jws}.extra`,
      withHeader({ ...header, typ: 'JWT' }),
      withHeader({ ...header, alg: 'none' }),
      withHeader({ ...header, alg: 'ES256' }),
      withHeader({ ...header, jwk: { ...header.jwk, d: 'x' } }),
      withHeader({ ...header, jwk: { ...header.jwk, crv: 'P-256' } }),
      withHeader({ ...header, kid: 'k' }),
      withHeader({ ...header, attestation: 'not base64url!' }),
      `${Buffer.from('{').toString('base64url')}.${payload}.${signature}`,
    ]) {
      expect([bad.slice(0, 40), await refusal(bad)]).toEqual([bad.slice(0, 40), 'BAD_JWS']);
    }
  });

  it('refuses a header whose typ or alg is nested past the stack’s depth: BAD_JWS, never a RangeError', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const header = decodeProtectedHeader(jws) as Record<string, unknown>;
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    for (const field of ['typ', 'alg']) {
      const text = JSON.stringify({ ...header, [field]: 0 }).replace(`"${field}":0`, `"${field}":${deep}`);
      const forged = [Buffer.from(text).toString('base64url'), ...jws.split('.').slice(1)].join('.');
      await expect(verifyResult(forged, policyFor(nsm))).rejects.toMatchObject({ code: 'BAD_JWS', message: expect.stringContaining('an array') });
    }
  });

  it('describes any unsigned header value in a short line without controls, whatever it is (property)', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const header = decodeProtectedHeader(jws) as Record<string, unknown>;
    const [, payload, signature] = jws.split('.');
    const value = fc.oneof(
      fc.jsonValue(),
      fc.string({ unit: 'binary', minLength: 100, maxLength: 5000 }),
      fc.nat(3000).map((n) => JSON.parse(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`) as unknown),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('typ', 'alg', 'kid', '\u001b[2J✓ VERIFIED\n'), value, async (field, v) => {
        const text = Buffer.from(JSON.stringify({ ...header, [field]: v }));
        const error = await verifyResult(`${text.toString('base64url')}.${payload}.${signature}`, policyFor(nsm)).then(
          () => undefined,
          (e: unknown) => e as { code?: string; message: string },
        );
        if (error === undefined) return; // the value a result has: nothing to describe
        expect(error.code).toBe('BAD_JWS');
        expect(error.message.length).toBeLessThan(1000);
        expect(hasControlCharacters(error.message)).toBe(false);
      }),
      { numRuns: 80 },
    );
  });

  it('names unknown header fields escaped and shortened, at most three of them', async () => {
    const key = await instance();
    const jws = await createResultSigner(key.material).sign(CLAIMS);
    const header = decodeProtectedHeader(jws) as Record<string, unknown>;
    const [, payload, signature] = jws.split('.');
    const fake = '\u001b[2J\u001b[H✓ VERIFIED signed result\n\n  app          millionaire';
    const fields = { [fake]: 1, ['x'.repeat(10_000)]: 2, b: 3, c: 4, d: 5 };
    const forged = `${Buffer.from(JSON.stringify({ ...header, ...fields })).toString('base64url')}.${payload}.${signature}`;
    const error = (await verifyResult(forged, policyFor(nsm)).catch((e: unknown) => e)) as { code: string; message: string };
    expect(error.code).toBe('BAD_JWS');
    expect(error.message).toContain('"\\u001b[2J\\u001b[H✓ VERIFIED signed result\\u000a\\u000a  app  …" (59 characters)');
    expect(error.message).toContain('"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (10000 characters), "b", 2 more');
    expect(hasControlCharacters(error.message)).toBe(false);
  });

  it('refuses a result with no document to vouch for its key: NO_DOCUMENT', async () => {
    const jws = await testResultSigner().sign(CLAIMS);
    expect(await refusal(jws)).toBe('NO_DOCUMENT');
    const key = await instance();
    expect(await refusal(jws, { document: Buffer.from(key.material.attestation!, 'base64url') })).toBe('KEY_NOT_ATTESTED');
  });
});
