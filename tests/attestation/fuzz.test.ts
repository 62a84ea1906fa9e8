import fc from 'fast-check';
import { AttestationError, awsNitroRoot, verifyAttestation } from '../../attestation';
import { REAL_DOCUMENTS, readTestdata } from './testdata';

const documents = REAL_DOCUMENTS.map((d) => ({ bytes: readTestdata('nitro', d.file), at: d.timestamp, debug: d.debug }));

/** Runs the verifier and returns the refusal code; anything but an AttestationError fails the test. */
function outcome(bytes: Uint8Array, at: number): string {
  try {
    verifyAttestation(bytes, { root: awsNitroRoot(), at, policy: { allowDebug: true } });
    return 'ACCEPTED';
  } catch (e) {
    if (!(e instanceof AttestationError)) throw new Error(`threw ${String(e)} instead of an AttestationError`);
    return e.code;
  }
}

it('refuses random bytes, with an AttestationError and nothing else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      expect(outcome(bytes, Date.now())).not.toBe('ACCEPTED');
    }),
    { numRuns: 2000 },
  );
});

it('refuses random CBOR-looking input (arrays of byte strings, maps, tags)', () => {
  const prefix = fc.constantFrom(0x84, 0xd2, 0xa9, 0xbf, 0x9f, 0x5f, 0x7f, 0xd9, 0x1b);
  fc.assert(
    fc.property(prefix, fc.uint8Array({ maxLength: 512 }), (first, rest) => {
      expect(outcome(Uint8Array.from([first, ...rest]), Date.now())).not.toBe('ACCEPTED');
    }),
    { numRuns: 2000 },
  );
});

it('refuses every mutation of a real document: flipped bits, cuts, insertions', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...documents), mutation, (doc, m) => {
      const at = m.at % doc.bytes.length;
      let mutated: Buffer;
      if (m.kind === 'flip') {
        mutated = Buffer.from(doc.bytes);
        mutated[at] = mutated[at]! ^ (1 << m.bit);
      } else if (m.kind === 'cut') {
        mutated = Buffer.from(doc.bytes.subarray(0, at));
      } else {
        mutated = Buffer.concat([doc.bytes.subarray(0, at), Buffer.from([m.byte]), doc.bytes.subarray(at)]);
      }
      // Prepending 0xd2 (tag 18) yields the tagged form of the very same message, which RFC 9052
      // and the AWS documents allow: it must be accepted. Every other mutation must be refused.
      const sameMessageTagged = m.kind === 'insert' && at === 0 && m.byte === 0xd2;
      if (sameMessageTagged) expect(outcome(mutated, doc.at)).toBe('ACCEPTED');
      else expect(outcome(mutated, doc.at)).not.toBe('ACCEPTED');
    }),
    { numRuns: 3000 },
  );
});

it('accepts a real document tagged 18 and refuses every other tag in front of it', () => {
  for (const doc of documents) {
    for (let byte = 0xc0; byte <= 0xd7; byte++) {
      const tagged = Buffer.concat([Buffer.from([byte]), doc.bytes]);
      // cbor-x itself interprets some tags (dates, bignums) and fails on a non-matching item first.
      expect([byte, outcome(tagged, doc.at)]).toEqual([byte, byte === 0xd2 ? 'ACCEPTED' : expect.stringMatching(/^BAD_(TAG|CBOR)$/)]);
    }
  }
});
