import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevNsm } from '../../attestation/dev';
import { verifyResult } from '../../client';
import { type ResultClaims, createResultSigner } from '../../contract/signed-result';
import { createResultsKey } from '../../enclave/results-key';
import { testResultSigner } from '../../express/testing';
import { CONFIG_DIGEST, bootNsm, policyFor } from '../client/fake-enclave';

const CLAIMS: ResultClaims = { app: 'stats', resource: 'c1', participants: ['gina', 'ivan'], result: '6.5' };

describe('createResultSigner(...).sign', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a result that is undefined', { result: undefined }, /"result".*missing/],
    ['a result that is a function', { result: () => 1 }, /"result".*a function/],
    ['a result that is a symbol', { result: Symbol('r') }, /"result".*a symbol/],
    ['a result that is a bigint', { result: 10n }, /"result".*a bigint/],
    ['an app that is no string', { app: 7 }, /"app" must be a string/],
    ['a resource that is no string', { resource: null }, /"resource" must be a string/],
    ['participants that are a string', { participants: 'gina' }, /"participants" must be an array/],
    ['participants that are not all strings', { participants: ['gina', 5] }, /"participants" must be an array/],
  ])('refuses %s with a TypeError naming the claim: its verifier would refuse what it signed', async (_, change, message) => {
    const signing = testResultSigner().sign({ ...CLAIMS, ...change } as ResultClaims);
    await expect(signing).rejects.toThrow(TypeError);
    await expect(signing).rejects.toThrow(message);
  });

  it('refuses claims that are no object', async () => {
    await expect(testResultSigner().sign(null as unknown as ResultClaims)).rejects.toThrow(/claims of a result must be an object/);
  });

  it('signs every result JSON can carry, and its own verifier accepts each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloister-signed-result-'));
    try {
      const nsm: DevNsm = await bootNsm(join(dir, 'dev'));
      const key = await createResultsKey(nsm, { config: CONFIG_DIGEST, instance: randomBytes(16), tlsSpki: randomBytes(91) });
      const signer = createResultSigner(key.material);
      for (const result of [null, 0, false, '', [], {}, { size: 2, intersectionSha256: 'ab' }, ['x', { y: [1] }]]) {
        const { payload } = await verifyResult(await signer.sign({ ...CLAIMS, participants: [], result }), policyFor(nsm));
        expect(payload.result).toEqual(result);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
