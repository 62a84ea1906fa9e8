import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { AttestationError, awsNitroRoot, verifyAttestation } from '../../attestation';
import { REAL_DOCUMENTS, readTestdata } from './testdata';

/**
 * DESIGN.md invariant 3 for the unsigned part of a document: its COSE envelope has one spelling.
 * Each change below leaves every signed byte as it was, so the signature still verifies; before
 * the envelope was checked, each made a second byte string that verified as the same document.
 */

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false });
const cbor = (value: unknown) => Buffer.from(encoder.encode(value));

/** The offset of the unprotected header in an untagged NSM document: after 84, 44 and a1013822. */
const UNPROTECTED_AT = 6;

function withUnprotected(document: Buffer, header: Buffer): Buffer {
  expect(document[UNPROTECTED_AT]).toBe(0xa0);
  return Buffer.concat([document.subarray(0, UNPROTECTED_AT), header, document.subarray(UNPROTECTED_AT + 1)]);
}

/** The payload's byte-string head rewritten in a longer form (59 → 5a, same length). */
function withLongPayloadHead(document: Buffer): Buffer {
  const at = UNPROTECTED_AT + 1;
  expect(document[at]).toBe(0x59);
  const length = document.readUInt16BE(at + 1);
  const head = Buffer.alloc(5);
  head[0] = 0x5a;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([document.subarray(0, at), head, document.subarray(at + 3)]);
}

function outcome(document: Buffer, fixture: (typeof REAL_DOCUMENTS)[number]): string {
  try {
    verifyAttestation(document, { root: awsNitroRoot(), at: fixture.timestamp, policy: { allowDebug: fixture.debug } });
    return 'ACCEPTED';
  } catch (e) {
    if (!(e instanceof AttestationError)) throw e;
    return e.code;
  }
}

const CERTIFICATE_LIKE = Buffer.alloc(300, 0x30);

describe.each(REAL_DOCUMENTS)('the envelope of $file', (fixture) => {
  const genuine = readTestdata('nitro', fixture.file);

  it('verifies untagged, as the NSM wrote it, and tagged 18 with the one-byte head d2', () => {
    expect(outcome(genuine, fixture)).toBe('ACCEPTED');
    expect(outcome(Buffer.concat([Buffer.from([0xd2]), genuine]), fixture)).toBe('ACCEPTED');
  });

  it.each([
    ['{4: kid}', cbor(new Map([[4, Buffer.from('key-1')]]))],
    ['{1: -35} (alg ES384, outside the signature)', cbor(new Map([[1, -35]]))],
    ['{1: -7} (alg ES256)', cbor(new Map([[1, -7]]))],
    ['{33: <certificate>} (x5chain)', cbor(new Map([[33, CERTIFICATE_LIKE]]))],
    ['{"a": 1}', cbor(new Map([['a', 1]]))],
    ['{0: 0}', cbor(new Map([[0, 0]]))],
    ['an empty map written with an indefinite length', Buffer.from([0xbf, 0xff])],
  ])('refuses an unprotected header of %s: BAD_CBOR', (_what, header) => {
    expect(outcome(withUnprotected(genuine, header), fixture)).toBe('BAD_CBOR');
  });

  it.each([
    ['tag 18 in a two-byte head (d8 12)', [0xd8, 0x12]],
    ['tag 18 around tag 55799', [0xd2, 0xd9, 0xd9, 0xf7]],
    ['tag 55799 around tag 18', [0xd9, 0xd9, 0xf7, 0xd2]],
    ['tag 18 twice', [0xd2, 0xd2]],
    ['tag 55799 alone', [0xd9, 0xd9, 0xf7]],
  ])('refuses %s: BAD_TAG', (_what, prefix) => {
    expect(outcome(Buffer.concat([Buffer.from(prefix), genuine]), fixture)).toBe('BAD_TAG');
  });

  it('refuses lengths written longer than needed: BAD_CBOR', () => {
    expect(outcome(withLongPayloadHead(genuine), fixture)).toBe('BAD_CBOR');
    expect(outcome(Buffer.concat([Buffer.from([0x98, 0x04]), genuine.subarray(1)]), fixture)).toBe('BAD_CBOR');
  });

  it('refuses any non-empty unprotected header (property)', () => {
    const key = fc.oneof(fc.integer({ min: -100, max: 100 }), fc.string({ maxLength: 8 }));
    const value = fc.oneof(
      fc.integer(),
      fc.string({ maxLength: 16 }),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { minLength: 1, maxLength: 4, selector: ([k]) => k }), (entries) => {
        expect(outcome(withUnprotected(genuine, cbor(new Map(entries))), fixture)).toBe('BAD_CBOR');
      }),
      { numRuns: 50 },
    );
  });
});
