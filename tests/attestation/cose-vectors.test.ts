import { createPublicKey } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError } from '../../attestation';
import { decodeSign1, requireEs384, verifyEs384 } from '../../attestation/cose-sign1';
import { TESTDATA, readTestdata } from './testdata';

interface Vector {
  title: string;
  fail?: boolean;
  input: { sign0: { key: Record<string, string>; alg: string }; failures?: Record<string, unknown> };
  output: { cbor: string };
}

const vectors = ['sign1-tests', 'ecdsa-examples'].flatMap((dir) =>
  readdirSync(join(TESTDATA, 'cose', dir)).map((file) => {
    const vector = JSON.parse(readTestdata('cose', dir, file).toString('utf8')) as Vector;
    return { name: `${dir}/${file}`, vector };
  }),
);

/** Runs the same checks a document gets at the COSE layer: structure, exactly ES384, signature. */
function verifyVector(vector: Vector): void {
  const { d: _private, ...publicJwk } = vector.input.sign0.key;
  const message = decodeSign1(Buffer.from(vector.output.cbor, 'hex'));
  requireEs384(message);
  verifyEs384(message, createPublicKey({ key: publicJwk, format: 'jwk' }));
}

const refusalCode = (vector: Vector) => {
  try {
    verifyVector(vector);
  } catch (e) {
    expect(e).toBeInstanceOf(AttestationError);
    return (e as AttestationError).code;
  }
  return 'ACCEPTED';
};

it('has the working group vectors to test against', () => {
  expect(vectors.length).toBe(13);
});

it('verifies the ES384 pass vector (P-384, sign1)', () => {
  const es384 = vectors.filter(({ vector }) => vector.input.sign0.alg === 'ES384' && !vector.fail);
  expect(es384.map((v) => v.name)).toEqual(['ecdsa-examples/ecdsa-sig-02.json']);
  expect(refusalCode(es384[0]!.vector)).toBe('ACCEPTED');
});

it('detects a changed payload in the ES384 vector: BAD_SIGNATURE', () => {
  const vector = vectors.find((v) => v.name === 'ecdsa-examples/ecdsa-sig-02.json')!.vector;
  const cbor = vector.output.cbor.replace('546869732069732074686520636F6E74656E742E', '546869732069732074686520636F6E74656E743F');
  expect(refusalCode({ ...vector, output: { cbor } })).toBe('BAD_SIGNATURE');
});

describe.each(vectors.filter(({ vector }) => vector.fail))('fail vector $name', ({ vector }) => {
  it(`is refused (${vector.title})`, () => {
    expect(refusalCode(vector)).not.toBe('ACCEPTED');
  });
});

it('refuses the wrong CBOR tag (sign-fail-01): BAD_TAG', () => {
  expect(refusalCode(vectors.find((v) => v.name === 'sign1-tests/sign-fail-01.json')!.vector)).toBe('BAD_TAG');
});

it('refuses alg only in the unprotected header (sign-pass-01): BAD_ALG', () => {
  expect(refusalCode(vectors.find((v) => v.name === 'sign1-tests/sign-pass-01.json')!.vector)).toBe('BAD_ALG');
});

it('refuses a P-256 key with ES512 (ecdsa-sig-04): BAD_ALG', () => {
  expect(refusalCode(vectors.find((v) => v.name === 'ecdsa-examples/ecdsa-sig-04.json')!.vector)).toBe('BAD_ALG');
});

it('refuses every algorithm but ES384, even when the vector is valid COSE', () => {
  for (const { vector } of vectors.filter(({ vector }) => vector.input.sign0.alg !== 'ES384')) {
    expect(refusalCode(vector)).toMatch(/^BAD_(ALG|TAG)$/);
  }
});
