import fc from 'fast-check';
import { BomSkipper } from '../../examples/psi/formats/bom';
import { CsvParser } from '../../examples/psi/formats/csv';
import type { ItemParser, RawItemSink } from '../../examples/psi/formats/item-sink';
import { JsonArrayParser } from '../../examples/psi/formats/json-array';
import { LineParser } from '../../examples/psi/formats/lines';

const BIG = 1 << 16;

/** Runs a parser over `body` cut at the given points, collecting every raw item (empty ones too). */
function parse(make: (sink: RawItemSink) => ItemParser, body: Buffer, cuts: number[]): string[] {
  const items: string[] = [];
  const parser = make((bytes, start, end) => items.push(bytes.toString('utf8', start, end)));
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b)) {
    parser.write(body.subarray(from, cut));
    from = cut;
  }
  parser.write(body.subarray(from));
  parser.end();
  return items;
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });
const lineEnd = fc.constantFrom('\n', '\r\n');
// Whole Unicode (no lone surrogates), weighted towards the characters formats treat specially.
const special = fc.constantFrom('"', ',', '\n', '\r', '\\', ' ', '\u2028');
const text = fc.string({ unit: fc.oneof(special, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) });

/** JSON with every non-ASCII character and some ASCII written as \u escapes (surrogate pairs for astral ones). */
function escapeAll(items: string[]): string {
  const escape = (s: string) =>
    [...s].map((ch) => {
      const units = ch.length === 2 ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [ch.charCodeAt(0)];
      return ch === '"' || ch === '\\' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) > 0x7e || ch === 'a'
        ? units.map((u) => `\\u${u.toString(16).padStart(4, '0')}`).join('')
        : ch;
    });
  return ` [ ${items.map((s) => `"${escape(s).join('')}"`).join(' ,\n')} ] \n`;
}

describe('JsonArrayParser', () => {
  it('reads what JSON.parse reads, in any chunking, plain or fully escaped', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 8 }), fc.boolean(), cuts, (items, escaped, at) => {
        const body = Buffer.from(escaped ? escapeAll(items) : JSON.stringify(items));
        expect(JSON.parse(body.toString())).toEqual(items);
        expect(parse((sink) => new JsonArrayParser(BIG, sink), body, at)).toEqual(items);
      }),
      { numRuns: 300 },
    );
  });
});

describe('CsvParser', () => {
  const field = (s: string, quote: boolean) => (quote || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

  it('reads the first field of every record written by an RFC 4180 writer, in any chunking', () => {
    const row = fc.tuple(text, fc.array(text, { maxLength: 3 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 8 }), lineEnd, fc.boolean(), fc.boolean(), cuts, (rows, eol, finalEol, header, at) => {
        // A record that is one empty unquoted field is a blank line: quote it, as a writer must.
        const lines = rows.map(([first, rest, quote]) =>
          [field(first, quote || (first === '' && rest.length === 0)), ...rest.map((f) => field(f, false))].join(','),
        );
        const body = Buffer.from(lines.join(eol) + (finalEol ? eol : ''));
        const expected = rows.map(([first]) => first).slice(header ? 1 : 0);
        expect(parse((sink) => new CsvParser(BIG, header, sink), body, at)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('LineParser', () => {
  it('reads one item per line with LF or CRLF, in any chunking', () => {
    const line = text.map((s) => s.replace(/[\r\n]/g, ''));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 10 }), lineEnd, cuts, (lines, eol, at) => {
        const body = Buffer.from(lines.map((l) => l + eol).join(''));
        expect(parse((sink) => new LineParser(BIG, sink), body, at)).toEqual(lines);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a line over the limit (and the room for a CR) as soon as it is, without waiting for its end', () => {
    const parser = new LineParser(4, () => undefined);
    parser.write(Buffer.from('abc'));
    expect(() => parser.write(Buffer.from('def'))).toThrow(expect.objectContaining({ code: 'ITEM_TOO_LONG', status: 413 }));
  });
});

describe('BomSkipper', () => {
  it('drops a byte order mark however it is split, and nothing else', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    for (const body of [Buffer.concat([bom, Buffer.from('a\nb')]), Buffer.from('a\nb'), Buffer.from([0xef, 0xbb, 0x0a])]) {
      for (let cut = 0; cut <= body.length; cut++) {
        const split = parse((sink) => new BomSkipper(new LineParser(BIG, sink)), body, [cut, cut === 0 ? 0 : cut - 1]);
        expect(split).toEqual(parse((sink) => new LineParser(BIG, sink), body.subarray(body.subarray(0, 3).equals(bom) ? 3 : 0), []));
      }
    }
  });
});
