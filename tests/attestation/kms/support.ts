import { type KeyObject, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Nsm } from '../../../attestation/nsm/nsm';
import { KmsError, type KmsErrorCode } from '../../../attestation/kms';
import { TESTDATA } from '../testdata';

/** The shared KMS test data, copied into tests/fixtures/kms (see tests/fixtures/README.md). */
const KMS_TESTDATA = path.join(TESTDATA, 'kms');

export const testdata = (name: string): Buffer => readFileSync(path.join(KMS_TESTDATA, name));

/** The key that opens the openssl-made envelopes, and what they hold. */
export const mockRecipientKey: KeyObject = createPrivateKey(testdata('mock_recipient_key.pem'));
export const MOCK_PLAINTEXT = 'hello from mock KMS 0123456789abcdef';

/** The four envelopes in testdata: two real KMS replies (no key), two openssl-made ones (mock key). */
export const BLOBS = ['input_ber.ber', 'input_ber_w_ctx.ber', 'mock_openssl_env.der', 'mock_openssl_env_stream.ber'] as const;

/** Runs `fn` and returns the KmsError it throws; fails the test if it returns or throws anything else. */
export function kmsErrorOf(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KmsError) return error;
    throw new Error(`expected a KmsError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a KmsError, but nothing was thrown');
}

export async function kmsErrorOfAsync(promise: Promise<unknown>): Promise<KmsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KmsError) return error;
    throw new Error(`expected a KmsError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a KmsError, but the promise resolved');
}

export function expectCode(fn: () => unknown, code: KmsErrorCode): KmsError {
  const error = kmsErrorOf(fn);
  expect(error.code).toBe(code);
  return error;
}

/**
 * An NSM that records what it is asked for and answers with fixed bytes, standing in for the
 * device and development drivers: the KMS code only passes the document through.
 */
export class FakeNsm implements Nsm {
  readonly requests: { userData?: Uint8Array; nonce?: Uint8Array; publicKey?: Uint8Array }[] = [];

  constructor(
    readonly document: Uint8Array = Buffer.from('a fixed stand-in for a COSE_Sign1 attestation document'),
    private readonly failure?: Error,
  ) {}

  async attestation(request: { userData?: Uint8Array; nonce?: Uint8Array; publicKey?: Uint8Array }): Promise<Uint8Array> {
    this.requests.push(request);
    if (this.failure) throw this.failure;
    return this.document;
  }

  /** The public key of the latest request: the key a reply must be encrypted to. */
  get lastPublicKey(): Buffer {
    const key = this.requests.at(-1)?.publicKey;
    if (key === undefined) throw new Error('the NSM was not asked for a document with a public key');
    return Buffer.from(key);
  }

  describePcr(): Promise<{ locked: boolean; data: Uint8Array }> {
    return Promise.reject(new Error('not used by the KMS calls'));
  }
  extendPcr(): Promise<Uint8Array> {
    return Promise.reject(new Error('not used by the KMS calls'));
  }
  lockPcr(): Promise<void> {
    return Promise.reject(new Error('not used by the KMS calls'));
  }
  getRandom(): Promise<Uint8Array> {
    return Promise.reject(new Error('not used by the KMS calls'));
  }
}
