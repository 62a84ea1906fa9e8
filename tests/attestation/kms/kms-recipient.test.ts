import { createPublicKey, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, GenerateRandomCommand, InvalidCiphertextException, KMSClient, KMSServiceException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { NsmError } from '../../../attestation/nsm/nsm';
import { decryptForEnclave, generateDataKeyForEnclave, generateRandomForEnclave } from '../../../attestation/kms';
import { buildEnvelope } from './cms-builder';
import { FakeNsm, kmsErrorOfAsync, mockRecipientKey } from './support';

const kmsMock = mockClient(KMSClient);
const kms = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A reply envelope as KMS would make it: the plaintext encrypted to the public key in the NSM's latest document request. */
const envelopeFor = (nsm: FakeNsm, plaintext: Buffer) =>
  buildEnvelope({ plaintext, recipients: [{ publicKey: createPublicKey({ key: nsm.lastPublicKey, format: 'der', type: 'spki' }) }], streamChunk: 64 });

/** An error the SDK raises for an error KMS's model does not name, as it does for AccessDenied and throttling. */
const serviceError = (name: string, message: string) => new KMSServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });

let nsm: FakeNsm;
beforeEach(() => {
  kmsMock.reset();
  nsm = new FakeNsm();
});

describe('decryptForEnclave', () => {
  it('sends Decrypt with the Recipient and opens the reply with the key the NSM was asked to attest', async () => {
    const secret = randomBytes(200);
    kmsMock.on(DecryptCommand).callsFake(() => ({ KeyId: KEY_ARN, CiphertextForRecipient: envelopeFor(nsm, secret) }));
    const input = { CiphertextBlob: Buffer.from('ciphertext blob'), KeyId: KEY_ARN, EncryptionContext: { app: 'psi' } };

    const out = await decryptForEnclave(kms, nsm, input);

    expect(out).toEqual({ Plaintext: secret, KeyId: KEY_ARN });
    expect(nsm.requests).toHaveLength(1);
    expect(Object.keys(nsm.requests[0]!)).toEqual(['publicKey']);
    const spki = createPublicKey({ key: nsm.lastPublicKey, format: 'der', type: 'spki' });
    expect(spki.asymmetricKeyType).toBe('rsa');
    expect(spki.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const calls = kmsMock.commandCalls(DecryptCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      ...input,
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: nsm.document },
    });
  });

  it('cannot be talked out of its Recipient by the input', async () => {
    kmsMock.on(DecryptCommand).callsFake(() => ({ CiphertextForRecipient: envelopeFor(nsm, Buffer.from('x')) }));
    const sneaky = { CiphertextBlob: Buffer.from('c'), Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: Buffer.from('other') } };
    await decryptForEnclave(kms, nsm, sneaky as never);
    expect(kmsMock.commandCalls(DecryptCommand)[0]!.args[0].input.Recipient?.AttestationDocument).toEqual(nsm.document);
  });

  it('uses a fresh key for every call, of the size asked for', async () => {
    kmsMock.on(DecryptCommand).callsFake(() => ({ CiphertextForRecipient: envelopeFor(nsm, Buffer.from('x')) }));
    await decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') });
    await decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }, { keySize: 3072 });
    const [first, second] = nsm.requests.map((r) => Buffer.from(r.publicKey!));
    expect(first!.equals(second!)).toBe(false);
    expect(createPublicKey({ key: second!, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('refuses a reply envelope made for another key (a replayed or misrouted reply)', async () => {
    const stranger = buildEnvelope({ plaintext: Buffer.from('x'), recipients: [{ publicKey: createPublicKey(mockRecipientKey) }] });
    kmsMock.on(DecryptCommand).resolves({ CiphertextForRecipient: stranger });
    expect((await kmsErrorOfAsync(decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }))).code).toBe('NO_MATCHING_RECIPIENT');
  });

  it('refuses a garbled reply envelope', async () => {
    kmsMock.on(DecryptCommand).resolves({ CiphertextForRecipient: Buffer.from('not cms') });
    expect((await kmsErrorOfAsync(decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }))).code).toBe('BAD_ENVELOPE');
  });

  it('refuses a reply without CiphertextForRecipient', async () => {
    for (const reply of [{ KeyId: KEY_ARN }, { CiphertextForRecipient: new Uint8Array(0) }, { Plaintext: new Uint8Array(0) }]) {
      kmsMock.on(DecryptCommand).resolves(reply);
      const error = await kmsErrorOfAsync(decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }));
      expect(error.code).toBe('NO_CIPHERTEXT_FOR_RECIPIENT');
    }
  });

  it('refuses a reply that carries the plaintext, with or without CiphertextForRecipient, and does not repeat it', async () => {
    const leaked = Buffer.from('6c65616b65642d706c61696e74657874', 'hex');
    for (const alsoEnveloped of [false, true]) {
      kmsMock.on(DecryptCommand).callsFake(() => ({ Plaintext: leaked, ...(alsoEnveloped ? { CiphertextForRecipient: envelopeFor(nsm, leaked) } : {}) }));
      const error = await kmsErrorOfAsync(decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }));
      expect(error.code).toBe('PLAINTEXT_IN_RESPONSE');
      expect(error.message).toMatch(/crossed the host in the clear/);
      for (const form of [leaked.toString(), leaked.toString('hex'), leaked.toString('base64')]) expect(error.message).not.toContain(form);
    }
  });

  it('wraps SDK errors as KMS_REQUEST_FAILED with the error name, never its message', async () => {
    const denied = serviceError('AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/x is not authorized');
    kmsMock.on(DecryptCommand).rejects(denied);
    const error = await kmsErrorOfAsync(decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }));
    expect(error).toMatchObject({ code: 'KMS_REQUEST_FAILED', awsErrorName: 'AccessDeniedException', cause: denied });
    expect(error.message).toMatch(/Decrypt failed with AccessDeniedException/);
    expect(error.message).toMatch(/kms:RecipientAttestation/);
    expect(error.message).not.toContain('not authorized');
  });

  it('wraps non-SDK failures (network) too', async () => {
    kmsMock.on(DecryptCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { name: 'NetworkingError' }));
    const error = await kmsErrorOfAsync(decryptForEnclave(kms, nsm, { CiphertextBlob: Buffer.from('c') }));
    expect(error).toMatchObject({ code: 'KMS_REQUEST_FAILED', awsErrorName: 'NetworkingError' });
  });

  it('calls KMS only with a document: an NSM failure propagates and nothing is sent', async () => {
    const failing = new FakeNsm(undefined, new NsmError('InternalError', 'the NSM failed'));
    await expect(decryptForEnclave(kms, failing, { CiphertextBlob: Buffer.from('c') })).rejects.toBeInstanceOf(NsmError);
    expect(kmsMock.calls()).toHaveLength(0);
  });
});

describe('generateDataKeyForEnclave', () => {
  it('sends GenerateDataKey with the Recipient and returns the opened key and the CiphertextBlob', async () => {
    const dataKey = randomBytes(32);
    const blob = Buffer.from('data key encrypted under the KMS key');
    kmsMock.on(GenerateDataKeyCommand).callsFake(() => ({ KeyId: KEY_ARN, CiphertextBlob: blob, CiphertextForRecipient: envelopeFor(nsm, dataKey) }));

    const out = await generateDataKeyForEnclave(kms, nsm, { KeyId: KEY_ARN, KeySpec: 'AES_256', EncryptionContext: { tenant: 'a' } });

    expect(out).toEqual({ Plaintext: dataKey, CiphertextBlob: blob, KeyId: KEY_ARN });
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toEqual({
      KeyId: KEY_ARN,
      KeySpec: 'AES_256',
      EncryptionContext: { tenant: 'a' },
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: nsm.document },
    });
    expect(nsm.requests.map((r) => Object.keys(r))).toEqual([['publicKey']]);
  });

  it('refuses a key of another length than asked for, by KeySpec or NumberOfBytes', async () => {
    for (const [input, length] of [
      [{ KeyId: KEY_ARN, KeySpec: 'AES_256' as const }, 16],
      [{ KeyId: KEY_ARN, KeySpec: 'AES_128' as const }, 32],
      [{ KeyId: KEY_ARN, NumberOfBytes: 64 }, 32],
    ] as const) {
      kmsMock.on(GenerateDataKeyCommand).callsFake(() => ({ CiphertextBlob: Buffer.from('b'), CiphertextForRecipient: envelopeFor(nsm, randomBytes(length)) }));
      expect((await kmsErrorOfAsync(generateDataKeyForEnclave(kms, nsm, input))).code).toBe('BAD_KMS_RESPONSE');
    }
  });

  it('refuses a reply without CiphertextBlob: the key could never be recovered', async () => {
    kmsMock.on(GenerateDataKeyCommand).callsFake(() => ({ CiphertextForRecipient: envelopeFor(nsm, randomBytes(32)) }));
    const error = await kmsErrorOfAsync(generateDataKeyForEnclave(kms, nsm, { KeyId: KEY_ARN, KeySpec: 'AES_256' }));
    expect(error.code).toBe('BAD_KMS_RESPONSE');
  });

  it('refuses a data key sent in the clear', async () => {
    kmsMock.on(GenerateDataKeyCommand).resolves({ Plaintext: randomBytes(32), CiphertextBlob: Buffer.from('b') });
    expect((await kmsErrorOfAsync(generateDataKeyForEnclave(kms, nsm, { KeyId: KEY_ARN, KeySpec: 'AES_256' }))).code).toBe('PLAINTEXT_IN_RESPONSE');
  });

  it('wraps SDK errors', async () => {
    kmsMock.on(GenerateDataKeyCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded'));
    const error = await kmsErrorOfAsync(generateDataKeyForEnclave(kms, nsm, { KeyId: KEY_ARN, KeySpec: 'AES_256' }));
    expect(error).toMatchObject({ code: 'KMS_REQUEST_FAILED', awsErrorName: 'ThrottlingException' });
    expect(error.message).toMatch(/GenerateDataKey failed with ThrottlingException/);
  });
});

describe('generateRandomForEnclave', () => {
  it('sends GenerateRandom with the Recipient and returns the opened bytes', async () => {
    const random = randomBytes(64);
    kmsMock.on(GenerateRandomCommand).callsFake(() => ({ CiphertextForRecipient: envelopeFor(nsm, random) }));

    expect(await generateRandomForEnclave(kms, nsm, { NumberOfBytes: 64 })).toEqual({ Plaintext: random });
    expect(kmsMock.commandCalls(GenerateRandomCommand)[0]!.args[0].input).toEqual({
      NumberOfBytes: 64,
      Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: nsm.document },
    });
  });

  it('refuses a reply of another length than asked for', async () => {
    kmsMock.on(GenerateRandomCommand).callsFake(() => ({ CiphertextForRecipient: envelopeFor(nsm, randomBytes(16)) }));
    expect((await kmsErrorOfAsync(generateRandomForEnclave(kms, nsm, { NumberOfBytes: 64 }))).code).toBe('BAD_KMS_RESPONSE');
  });

  it('refuses random bytes sent in the clear, or no ciphertext at all', async () => {
    kmsMock.on(GenerateRandomCommand).resolves({ Plaintext: randomBytes(64) });
    expect((await kmsErrorOfAsync(generateRandomForEnclave(kms, nsm, { NumberOfBytes: 64 }))).code).toBe('PLAINTEXT_IN_RESPONSE');
    kmsMock.on(GenerateRandomCommand).resolves({});
    expect((await kmsErrorOfAsync(generateRandomForEnclave(kms, nsm, { NumberOfBytes: 64 }))).code).toBe('NO_CIPHERTEXT_FOR_RECIPIENT');
  });

  it('wraps SDK errors', async () => {
    kmsMock.on(GenerateRandomCommand).rejects(new InvalidCiphertextException({ message: 'bad', $metadata: {} }));
    expect(await kmsErrorOfAsync(generateRandomForEnclave(kms, nsm, { NumberOfBytes: 64 }))).toMatchObject({
      code: 'KMS_REQUEST_FAILED',
      awsErrorName: 'InvalidCiphertextException',
    });
  });
});
