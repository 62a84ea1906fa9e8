import fc from 'fast-check';
import { BoundedLineBuffer } from '../../../enclave/logs/bounded-buffer';

describe('BoundedLineBuffer', () => {
  it('never holds more than its bound; every line written is taken, in order, or counted as dropped', () => {
    const op = fc.oneof(
      fc.record({ push: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
      fc.record({ take: fc.integer({ min: 1, max: 5 }) }),
      fc.constant({ report: true as const }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.array(op, { maxLength: 300 }), (maxBytes, ops) => {
        const buffer = new BoundedLineBuffer(maxBytes);
        const kept: string[] = [];
        const taken: string[] = [];
        let written = 0;
        let dropped = 0;
        for (const o of ops) {
          if ('push' in o) {
            written++;
            if (buffer.push(o.push)) kept.push(o.push);
          } else if ('take' in o) {
            for (let i = 0; i < o.take; i++) {
              const line = buffer.shift();
              if (line !== undefined) taken.push(line);
            }
          } else {
            dropped += buffer.takeDropped();
          }
          expect(buffer.bytes).toBeLessThanOrEqual(maxBytes);
          expect(buffer.bytes).toBe(kept.slice(taken.length).reduce((n, l) => n + Buffer.byteLength(l), 0));
        }
        dropped += buffer.takeDropped();
        for (let line = buffer.shift(); line !== undefined; line = buffer.shift()) taken.push(line);
        expect(taken).toEqual(kept);
        expect(taken.length + dropped).toBe(written);
        expect(buffer.bytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('counts by UTF-8 bytes, and takes lines from the front without copying the rest each time', () => {
    const buffer = new BoundedLineBuffer(8);
    expect(buffer.push('€€')).toBe(true); // 6 bytes
    expect(buffer.push('€')).toBe(false); // 3 more would make 9
    expect(buffer.push('ab')).toBe(true);
    expect(buffer.dropped).toBe(1);
    expect(buffer.bytes).toBe(8);

    const many = new BoundedLineBuffer(1 << 20);
    for (let i = 0; i < 100_000; i++) many.push(`${i}\n`);
    for (let i = 0; i < 100_000; i++) expect(many.shift()).toBe(`${i}\n`);
    expect(many.length).toBe(0);
    expect(() => new BoundedLineBuffer(0)).toThrow(RangeError);
  });
});
