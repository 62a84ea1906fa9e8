import { createPublicKey } from 'node:crypto';
import { MAX_ENVELOPE_BYTES, parseEnvelope } from '../../../attestation/kms';
import { OID, alg, buildEnvelope, der, indefinite, tlv } from './cms-builder';
import { BLOBS, expectCode, mockRecipientKey, testdata } from './support';

const hex = (b: Buffer) => b.toString('hex');
const publicKey = createPublicKey(mockRecipientKey);
const valid = (change: Partial<Parameters<typeof buildEnvelope>[0]> = {}) =>
  buildEnvelope({ plaintext: Buffer.from('secret'), recipients: [{ publicKey }], ...change });

describe('real KMS replies (aws-nitro-enclaves-sdk-c test vectors)', () => {
  it.each([
    ['input_ber.ber', '688c6d5f7f31b0fecedf09f2e7c99ac9', 48, '70e5caaffd49ad24efe15bf903be9d19'],
    ['input_ber_w_ctx.ber', 'e66c1172aee0f2f7be34e3afc6b0e4fe', 16, '1f943eb0105c1b0644df4f7130448a28'],
  ])('%s parses to the documented IV, algorithms and ciphertext', (file, iv, contentBytes, contentStart) => {
    const envelope = parseEnvelope(testdata(file));
    expect(envelope.version).toBe(2);
    expect(envelope.contentEncryptionAlgorithm).toBe('AES_256_CBC');
    expect(hex(envelope.iv)).toBe(iv);
    expect(envelope.encryptedContent).toHaveLength(contentBytes);
    expect(hex(envelope.encryptedContent.subarray(0, 16))).toBe(contentStart);
    expect(envelope.recipients).toHaveLength(1);
    const [recipient] = envelope.recipients;
    expect(recipient!.version).toBe(2);
    expect(recipient!.keyEncryptionAlgorithm).toBe('RSAES_OAEP_SHA_256');
    expect(recipient!.id.kind).toBe('subjectKeyIdentifier');
    expect(recipient!.id.kind === 'subjectKeyIdentifier' && recipient!.id.keyIdentifier).toHaveLength(32);
    expect(recipient!.encryptedKey).toHaveLength(256);
  });

  it('reads the whole ciphertext of input_ber, which sits in a constructed [0]', () => {
    expect(hex(parseEnvelope(testdata('input_ber.ber')).encryptedContent)).toBe(
      '70e5caaffd49ad24efe15bf903be9d19895b777d269b57b025f6f67e7ef93f94464515f2ebe034ea0b7621a1ff19292e',
    );
  });
});

describe('openssl-made envelopes', () => {
  it('reads the DER envelope', () => {
    const envelope = parseEnvelope(testdata('mock_openssl_env.der'));
    expect(hex(envelope.iv)).toBe('585a802b058e5ee3a41c9b6509d2aba1');
    expect(envelope.encryptedContent).toHaveLength(48);
    expect(envelope.recipients[0]!.id.kind === 'subjectKeyIdentifier' && envelope.recipients[0]!.id.keyIdentifier).toHaveLength(20);
  });

  it('joins the streamed (indefinite, chunked) ciphertext pieces in order', () => {
    const envelope = parseEnvelope(testdata('mock_openssl_env_stream.ber'));
    expect(hex(envelope.iv)).toBe('aeb24face60fd35977d9cfb435ed2a20');
    expect(hex(envelope.encryptedContent)).toBe('5f7c89d56e593299e9e8424a35564d845c09662394bcc4794544652b682418f3' + '2782ca94fe24c8a2a802e255660cee27');
  });

  it('reads recipients named by issuer and serial number (version 0)', () => {
    const envelope = parseEnvelope(valid({ version: 0, recipients: [{ publicKey, byIssuerAndSerial: true }] }));
    expect(envelope.recipients[0]!.version).toBe(0);
    expect(envelope.recipients[0]!.id).toEqual({ kind: 'issuerAndSerialNumber', serialNumber: Buffer.from([1]) });
  });
});

describe('malformed envelopes are BAD_ENVELOPE', () => {
  it.each(BLOBS)('every truncation of %s, and a trailing byte', (file) => {
    const blob = testdata(file);
    for (let n = 0; n < blob.length; n++) expectCode(() => parseEnvelope(blob.subarray(0, n)), 'BAD_ENVELOPE');
    expectCode(() => parseEnvelope(Buffer.concat([blob, Buffer.from([0])])), 'BAD_ENVELOPE');
  });

  it('refuses input that is not bytes, or larger than the cap', () => {
    expectCode(() => parseEnvelope('30800000' as unknown as Uint8Array), 'BAD_ENVELOPE');
    expectCode(() => parseEnvelope(undefined as unknown as Uint8Array), 'BAD_ENVELOPE');
    expectCode(() => parseEnvelope(Buffer.alloc(MAX_ENVELOPE_BYTES + 1)), 'BAD_ENVELOPE');
  });

  it('refuses deep nesting quickly, without overflowing the stack', () => {
    const deep = Buffer.concat([Buffer.alloc(20000, Buffer.from([0x30, 0x80])), Buffer.alloc(20000 * 2)]);
    expectCode(() => parseEnvelope(deep.subarray(0, MAX_ENVELOPE_BYTES)), 'BAD_ENVELOPE');
  });

  it('refuses other CMS content types', () => {
    const error = expectCode(() => parseEnvelope(valid({ envelopeType: OID.signedData })), 'BAD_ENVELOPE');
    expect(error.message).toMatch(/SignedData, not EnvelopedData/);
  });

  it.each([
    ['version 3', { version: 3 }],
    ['no recipients', { recipients: [] }],
    ['encrypted content of another type than id-data', { contentType: OID.signedData }],
    ['detached content', { detached: true }],
    ['a 12-byte IV', { contentAlgorithm: alg.cbc(Buffer.alloc(12)) }],
    ['no IV', { contentAlgorithm: der.seq(der.oid(OID.aes256cbc)) }],
    ['an extra EnvelopedData field', { unprotectedAttrs: der.explicit(2) }],
    ['OAEP hash parameters other than NULL', { recipients: [{ publicKey, algorithm: oaepWithHash(der.seq(der.oid(OID.sha256), der.int(0))) }] }],
    ['OAEP parameters out of order', { recipients: [{ publicKey, algorithm: oaepFields(der.explicit(1, mgf1()), der.explicit(0, alg.hash(OID.sha256))) }] }],
    ['an unknown OAEP parameter', { recipients: [{ publicKey, algorithm: oaepFields(der.explicit(0, alg.hash(OID.sha256)), der.explicit(3, der.null())) }] }],
  ])('refuses %s', (_name, change) => {
    expectCode(() => parseEnvelope(valid(change)), 'BAD_ENVELOPE');
  });

  it.each([0, 15, 33])('refuses %i bytes of encrypted content: not a whole, non-zero number of AES blocks', (n) => {
    expectCode(() => parseEnvelope(valid({ encryptedContent: Buffer.alloc(n) })), 'BAD_ENVELOPE');
  });

  it.each([
    ['version 0 with a key identifier', { publicKey, version: 0 }],
    ['version 2 with issuer and serial number', { publicKey, byIssuerAndSerial: true, version: 2 }],
    ['version 1', { publicKey, version: 1 }],
  ])('refuses a key transport recipient of %s', (_name, recipient) => {
    expectCode(() => parseEnvelope(valid({ recipients: [recipient] })), 'BAD_ENVELOPE');
  });

  it('refuses an OBJECT IDENTIFIER that ends in the middle of an arc', () => {
    const blob = Buffer.from(testdata('mock_openssl_env.der'));
    // The ContentInfo content type's last byte (…07 03) gets its continuation bit set.
    expect(blob.subarray(4, 15).toString('hex')).toBe('06092a864886f70d010703');
    blob[14] = 0x83;
    expectCode(() => parseEnvelope(blob), 'BAD_ENVELOPE');
  });
});

describe('other algorithms are UNSUPPORTED_ALGORITHM', () => {
  it.each([
    ['PKCS#1 v1.5 key transport', der.seq(der.oid(OID.rsaEncryption), der.null()), /rsaEncryption/],
    ['OAEP without parameters (the SHA-1 defaults)', der.seq(der.oid(OID.rsaesOaep)), /SHA-1/],
    ['OAEP with NULL parameters', der.seq(der.oid(OID.rsaesOaep), der.null()), /SHA-1/],
    ['OAEP with empty parameters (the SHA-1 defaults)', der.seq(der.oid(OID.rsaesOaep), der.seq()), /SHA-1/],
    ['OAEP with SHA-1', alg.oaep(OID.sha1, OID.sha1), /SHA-1/],
    ['OAEP with SHA-256 but MGF1-SHA-1', alg.oaep(OID.sha256, OID.sha1), /MGF1 with SHA-1/],
    ['OAEP with SHA-384', alg.oaep(OID.sha384, OID.sha384), /SHA-384/],
    ['OAEP with SHA-256 and no MGF given (MGF1-SHA-1)', oaepFields(der.explicit(0, alg.hash(OID.sha256))), /MGF1 with SHA-1/],
    [
      'OAEP with another mask generation function',
      oaepFields(der.explicit(0, alg.hash(OID.sha256)), der.explicit(1, der.seq(der.oid('1.2.3.4'), alg.hash(OID.sha256)))),
      /not MGF1/,
    ],
    ['OAEP with a label', alg.oaep(OID.sha256, OID.sha256, Buffer.from('label')), /label/],
  ])('refuses %s', (_name, algorithm, message) => {
    const error = expectCode(() => parseEnvelope(valid({ recipients: [{ publicKey, algorithm }] })), 'UNSUPPORTED_ALGORITHM');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['AES-128-CBC', alg.cbc(Buffer.alloc(16), OID.aes128cbc)],
    ['AES-256-GCM', der.seq(der.oid(OID.aes256gcm), der.seq(der.octets(Buffer.alloc(12))))],
  ])('refuses %s content encryption', (name, contentAlgorithm) => {
    const error = expectCode(() => parseEnvelope(valid({ contentAlgorithm })), 'UNSUPPORTED_ALGORITHM');
    expect(error.message).toContain(name);
  });

  it('refuses key agreement recipients', () => {
    const kari = der.explicit(1, der.int(3));
    const envelope = der.seq(
      der.oid(OID.envelopedData),
      der.explicit(0, der.seq(der.int(2), der.set(kari), der.seq(der.oid(OID.data), alg.cbc(Buffer.alloc(16)), der.implicit(0, Buffer.alloc(16))))),
    );
    expect(expectCode(() => parseEnvelope(envelope), 'UNSUPPORTED_ALGORITHM').message).toMatch(/key agreement recipient/);
  });
});

describe('what BER allows is read', () => {
  it('accepts originatorInfo and unprotectedAttrs, and an explicitly empty OAEP label', () => {
    const envelope = parseEnvelope(
      valid({
        originatorInfo: der.explicit(0),
        unprotectedAttrs: der.explicit(1, der.seq(der.oid('1.2.3'), der.set(der.null()))),
        recipients: [{ publicKey, algorithm: alg.oaep(OID.sha256, OID.sha256, Buffer.alloc(0)) }],
      }),
    );
    expect(envelope.recipients).toHaveLength(1);
  });

  it('accepts hash parameters absent (openssl) or NULL (KMS)', () => {
    const absent = oaepFields(der.explicit(0, alg.hash(OID.sha256, false)), der.explicit(1, der.seq(der.oid(OID.mgf1), alg.hash(OID.sha256, false))));
    expect(parseEnvelope(valid({ recipients: [{ publicKey, algorithm: absent }] })).recipients).toHaveLength(1);
    expect(parseEnvelope(valid({ recipients: [{ publicKey, algorithm: alg.oaep() }] })).recipients).toHaveLength(1);
  });

  it('joins nested constructed segments of every OCTET STRING', () => {
    const iv = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const key = Buffer.alloc(256, 7);
    const content = Buffer.alloc(32, 9);
    const split = (bytes: Buffer) =>
      indefinite(
        0x04,
        der.octets(bytes.subarray(0, 3)),
        indefinite(0x04, der.octets(bytes.subarray(3, 5)), der.octets(Buffer.alloc(0))),
        der.octets(bytes.subarray(5)),
      );
    const envelope = indefinite(
      0x30,
      der.oid(OID.envelopedData),
      indefinite(
        0xa0,
        indefinite(
          0x30,
          der.int(2),
          der.set(der.seq(der.int(2), tlv(0xa0, split(Buffer.alloc(20, 1)).subarray(2, -2)), alg.oaep(), split(key))),
          indefinite(0x30, der.oid(OID.data), der.seq(der.oid(OID.aes256cbc), split(iv)), indefinite(0x80, split(content))),
        ),
      ),
    );
    const parsed = parseEnvelope(envelope);
    expect(parsed.iv).toEqual(iv);
    expect(parsed.recipients[0]!.encryptedKey).toEqual(key);
    expect(parsed.recipients[0]!.id).toEqual({ kind: 'subjectKeyIdentifier', keyIdentifier: Buffer.alloc(20, 1) });
    expect(parsed.encryptedContent).toEqual(content);
  });
});

function mgf1() {
  return der.seq(der.oid(OID.mgf1), alg.hash(OID.sha256));
}

function oaepFields(...fields: Buffer[]) {
  return der.seq(der.oid(OID.rsaesOaep), der.seq(...fields));
}

function oaepWithHash(hash: Buffer) {
  return oaepFields(der.explicit(0, hash), der.explicit(1, mgf1()));
}
