import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { RecipientKey, decryptEnvelope } from '../../../attestation/kms';
import { OID, alg, buildEnvelope, wrapKey } from './cms-builder';
import { MOCK_PLAINTEXT, expectCode, mockRecipientKey, testdata } from './support';

const publicKey = createPublicKey(mockRecipientKey);
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('openssl-made envelopes decrypt with mock_recipient_key.pem', () => {
  it.each(['mock_openssl_env.der', 'mock_openssl_env_stream.ber'])('%s', (file) => {
    expect(decryptEnvelope(testdata(file), mockRecipientKey).toString('utf8')).toBe(MOCK_PLAINTEXT);
  });
});

describe('envelopes built like KMS builds them decrypt', () => {
  it.each([
    ['DER', {}],
    ['streamed BER in 16-byte pieces', { streamChunk: 16 }],
    ['streamed BER in 5-byte pieces', { streamChunk: 5 }],
    ['a recipient named by issuer and serial number', { version: 0, recipients: [{ publicKey, byIssuerAndSerial: true }] }],
    ['several recipients, ours last', { recipients: [{ publicKey: otherKey.publicKey }, { publicKey: otherKey.publicKey }, { publicKey }] }],
    ['an explicitly empty OAEP label', { recipients: [{ publicKey, algorithm: alg.oaep(OID.sha256, OID.sha256, Buffer.alloc(0)) }] }],
  ])('%s', (_name, change) => {
    const plaintext = randomBytes(100);
    expect(decryptEnvelope(buildEnvelope({ plaintext, recipients: [{ publicKey }], ...change }), mockRecipientKey)).toEqual(plaintext);
  });

  it('decrypts an empty plaintext (one block of padding)', () => {
    expect(decryptEnvelope(buildEnvelope({ plaintext: Buffer.alloc(0), recipients: [{ publicKey }] }), mockRecipientKey)).toHaveLength(0);
  });

  it('decrypts the largest plaintext KMS returns (4096 bytes)', () => {
    const plaintext = randomBytes(4096);
    expect(decryptEnvelope(buildEnvelope({ plaintext, recipients: [{ publicKey }], streamChunk: 1000 }), mockRecipientKey)).toEqual(plaintext);
  });
});

describe('refusals', () => {
  it('a key the envelope was not made for: NO_MATCHING_RECIPIENT, for openssl and real KMS envelopes alike', () => {
    for (const file of ['mock_openssl_env.der', 'mock_openssl_env_stream.ber', 'input_ber.ber', 'input_ber_w_ctx.ber']) {
      const error = expectCode(() => decryptEnvelope(testdata(file), otherKey.privateKey), 'NO_MATCHING_RECIPIENT');
      expect(error.message).toMatch(/made for another key/);
    }
  });

  it('several recipients, none ours: NO_MATCHING_RECIPIENT', () => {
    const envelope = buildEnvelope({ plaintext: Buffer.from('x'), recipients: [{ publicKey: otherKey.publicKey }, { publicKey: otherKey.publicKey }] });
    expect(expectCode(() => decryptEnvelope(envelope, mockRecipientKey), 'NO_MATCHING_RECIPIENT').message).toMatch(/2 recipient/);
  });

  it('an encrypted key altered in transit: NO_MATCHING_RECIPIENT (OAEP detects it)', () => {
    const blob = Buffer.from(testdata('mock_openssl_env.der'));
    blob[117 + 4 + 100]! ^= 0x01; // a byte inside the 256-byte encrypted key (OCTET STRING at offset 117, header 4)
    expectCode(() => decryptEnvelope(blob, mockRecipientKey), 'NO_MATCHING_RECIPIENT');
  });

  it('an altered last padding byte: DECRYPT_FAILED', () => {
    const blob = Buffer.from(testdata('mock_openssl_env.der'));
    // 36 bytes of plaintext leave 12 bytes of padding (0x0c) in the last block; flipping the byte
    // before it in the previous ciphertext block turns the last padding byte into 0xf3.
    blob[blob.length - 17]! ^= 0xff;
    const error = expectCode(() => decryptEnvelope(blob, mockRecipientKey), 'DECRYPT_FAILED');
    expect(error.message).toMatch(/altered in transit or is corrupt/);
  });

  it('a content key of the wrong length: DECRYPT_FAILED', () => {
    const contentKey = randomBytes(16);
    const envelope = buildEnvelope({ plaintext: Buffer.from('x'), contentKey, recipients: [{ publicKey, encryptedKey: wrapKey(publicKey, contentKey) }] });
    expect(expectCode(() => decryptEnvelope(envelope, mockRecipientKey), 'DECRYPT_FAILED').message).toMatch(/16 bytes, not the 32/);
  });

  it('OAEP with SHA-1 parameters or AES-128 content: UNSUPPORTED_ALGORITHM before any decryption', () => {
    const sha1 = buildEnvelope({ plaintext: Buffer.from('x'), recipients: [{ publicKey, algorithm: alg.oaep(OID.sha1, OID.sha1) }] });
    expectCode(() => decryptEnvelope(sha1, mockRecipientKey), 'UNSUPPORTED_ALGORITHM');
    const aes128 = buildEnvelope({
      plaintext: Buffer.from('x'),
      contentKey: randomBytes(16),
      iv: Buffer.alloc(16),
      contentAlgorithm: alg.cbc(Buffer.alloc(16), OID.aes128cbc),
      recipients: [{ publicKey }],
    });
    expectCode(() => decryptEnvelope(aes128, mockRecipientKey), 'UNSUPPORTED_ALGORITHM');
  });

  it('a key that is not an RSA private key: BAD_RECIPIENT_KEY', () => {
    const envelope = testdata('mock_openssl_env.der');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expectCode(() => decryptEnvelope(envelope, ec.privateKey), 'BAD_RECIPIENT_KEY');
    expectCode(() => decryptEnvelope(envelope, publicKey), 'BAD_RECIPIENT_KEY');
    expectCode(() => decryptEnvelope(envelope, 'a pem string' as never), 'BAD_RECIPIENT_KEY');
  });

  it('no message carries the content key or the plaintext', () => {
    const contentKey = randomBytes(32);
    const plaintext = Buffer.from('the secret plaintext');
    const envelope = buildEnvelope({ plaintext, contentKey, recipients: [{ publicKey }] });
    envelope[envelope.length - 17]! ^= 0xff;
    const error = expectCode(() => decryptEnvelope(envelope, mockRecipientKey), 'DECRYPT_FAILED');
    for (const secret of [contentKey.toString('hex'), contentKey.toString('base64'), plaintext.toString()]) {
      expect(error.message).not.toContain(secret);
    }
  });
});

describe('RecipientKey', () => {
  it('publishes an RSA-2048 SPKI and opens envelopes made for it', async () => {
    const key = await RecipientKey.generate();
    const spki = createPublicKey({ key: key.publicKeyDer, format: 'der', type: 'spki' });
    expect(spki.asymmetricKeyType).toBe('rsa');
    expect(spki.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const plaintext = randomBytes(48);
    expect(key.open(buildEnvelope({ plaintext, recipients: [{ publicKey: spki }] }))).toEqual(plaintext);
    expectCode(() => key.open(testdata('mock_openssl_env.der')), 'NO_MATCHING_RECIPIENT');
  });

  it('is fresh every time', async () => {
    const [a, b] = await Promise.all([RecipientKey.generate(), RecipientKey.generate()]);
    expect(a.publicKeyDer.equals(b.publicKeyDer)).toBe(false);
  });

  it('keeps the private key out of reach: not a property, not in JSON, not in inspect', async () => {
    const key = await RecipientKey.generate();
    const exposed = [JSON.stringify(key), inspect(key, { showHidden: true, depth: 5 }), Object.keys(key).join()];
    for (const text of exposed) expect(text).not.toMatch(/private|PRIVATE KEY/);
    expect(Object.values(key).every((v) => Buffer.isBuffer(v))).toBe(true);
  });

  it('refuses sizes KMS does not accept', async () => {
    const error = await RecipientKey.generate(1024 as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'KmsError', code: 'BAD_RECIPIENT_KEY' });
  });
});
