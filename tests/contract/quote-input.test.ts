import fc from 'fast-check';
import { escapeControls, quoteInput } from '../../contract/quote-input';
import { hasControlCharacters } from '../helpers/control-characters';

/** Any string of UTF-16 code units: controls, separators, and surrogates paired or not. */
const anyText = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)), maxLength });

describe('quoteInput: how a message shows input it refuses', () => {
  it('quotes a short string whole and escaped, and cuts a long one saying how long it was', () => {
    expect(quoteInput('JWT')).toBe('"JWT"');
    expect(quoteInput('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(quoteInput('\u001b[2J\n')).toBe('"\\u001b[2J\\u000a"');
    expect(quoteInput('x'.repeat(100))).toBe(`"${'x'.repeat(40)}…" (100 characters)`);
    expect(quoteInput('abcdef', 3)).toBe('"abc…" (6 characters)');
  });

  it('shows anything but a string by its type, however large or deep', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect([deep, { a: 1 }, undefined, null, 7, true, () => 1, Symbol('s'), 10n].map((v) => quoteInput(v))).toEqual([
      'an array',
      'an object',
      'undefined',
      'null',
      '7',
      'true',
      'a function',
      'a symbol',
      'a bigint',
    ]);
  });

  it('never writes a control character, and stays short, whatever the string (property)', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(500), fc.string({ unit: 'binary', maxLength: 500 })), (text) => {
        const quoted = quoteInput(text);
        expect(hasControlCharacters(quoted)).toBe(false);
        expect(quoted.length).toBeLessThanOrEqual(2 + 40 * 6 + 1 + ' (500 characters)'.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('escapeControls', () => {
  it('escapes C0, DEL, C1, separators, bidirectional overrides and lone surrogates, and keeps the rest', () => {
    expect(escapeControls('a\u0007b\u007f\u009b[31m\u2028\u202e\ud800z')).toBe('a\\u0007b\\u007f\\u009b[31m\\u2028\\u202e\\ud800z');
    expect(escapeControls('✓ 😀 é \\ "')).toBe('✓ 😀 é \\ "');
  });

  it('leaves no control character in any string (property)', () => {
    fc.assert(
      fc.property(anyText(200), fc.string({ unit: 'grapheme', maxLength: 50 }), (a, b) => {
        expect(hasControlCharacters(escapeControls(a + b))).toBe(false);
      }),
    );
  });
});
