import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { type ResultSigner, createResultSigner } from '../../contract/signed-result';

/**
 * A results signer for tests: a fresh P-384 key and instance id, and no attestation document, so
 * its JWS verify under the key in their header but never under a client policy (no enclave vouches).
 *
 * @example
 * const app = hostApp(module, config, { results: testResultSigner() });
 */
export function testResultSigner(): ResultSigner {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return createResultSigner({ privateJwk: privateKey.export({ format: 'jwk' }) as JWK, instance: randomBytes(16).toString('hex') });
}
