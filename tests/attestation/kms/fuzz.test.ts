import { createPublicKey } from 'node:crypto';
import fc from 'fast-check';
import { KmsError, decryptEnvelope, parseEnvelope } from '../../../attestation/kms';
import { buildEnvelope } from './cms-builder';
import { BLOBS, mockRecipientKey, testdata } from './support';

/** Runs `fn` and requires that it returns, or throws a KmsError and nothing else. */
function onlyKmsErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof KmsError)) throw new Error(`threw ${String(error)} instead of a KmsError`, { cause: error });
  }
}

/** One edit of a byte string: overwrite, flip, insert, delete or truncate at a position. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(original: Buffer, edits: { kind: string; at: number; byte: number }[]): Buffer {
  let bytes = Buffer.from(original);
  for (const { kind, at: rawAt, byte } of edits) {
    if (bytes.length === 0) break;
    const at = rawAt % bytes.length;
    if (kind === 'set') bytes[at] = byte;
    else if (kind === 'flip') bytes[at]! ^= byte;
    else if (kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([byte]), bytes.subarray(at)]);
    else if (kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    else bytes = bytes.subarray(0, at);
  }
  return bytes;
}

describe('arbitrary input never throws anything but KmsError', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        onlyKmsErrors(() => parseEnvelope(bytes));
        onlyKmsErrors(() => decryptEnvelope(bytes, mockRecipientKey));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a plausible BER prefix', () => {
    const prefix = testdata('input_ber.ber').subarray(0, 20);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (tail) => {
        onlyKmsErrors(() => parseEnvelope(Buffer.concat([prefix, tail])));
      }),
      { numRuns: 1000 },
    );
  });

  it.each(BLOBS)('random mutations of %s', (file) => {
    const original = testdata(file);
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        onlyKmsErrors(() => decryptEnvelope(mutate(original, edits), mockRecipientKey));
      }),
      { numRuns: 400 },
    );
  });
});

describe('round trip', () => {
  it('any plaintext, DER or streamed in any piece size, decrypts to itself', () => {
    const publicKey = createPublicKey(mockRecipientKey);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }), (plaintext, streamChunk) => {
        const envelope = buildEnvelope({ plaintext: Buffer.from(plaintext), recipients: [{ publicKey }], ...(streamChunk ? { streamChunk } : {}) });
        expect(decryptEnvelope(envelope, mockRecipientKey)).toEqual(Buffer.from(plaintext));
      }),
      { numRuns: 150 },
    );
  });
});
