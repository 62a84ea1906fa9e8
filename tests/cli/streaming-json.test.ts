import fc from 'fast-check';
import { type JsonHandler, JsonStreamError, StreamingJsonParser } from '../../cli/streaming-json';
import { hasControlCharacters } from '../helpers/control-characters';

const LIMITS = { maxStringBytes: 1 << 20, maxDepth: 64 };

/** The value a StreamingJsonParser reads from `text` cut into chunks at `cuts`, built back from its events. */
function parse(text: Buffer, cuts: number[] = [], limits = LIMITS): unknown {
  const stack: { container: unknown[] | Record<string, unknown>; key?: string }[] = [];
  let top: unknown;
  const place = (value: unknown) => {
    const parent = stack[stack.length - 1];
    if (parent === undefined) top = value;
    else if (Array.isArray(parent.container)) parent.container.push(value);
    // As JSON.parse does: an own property, "__proto__" included; the last of equal keys wins.
    else Object.defineProperty(parent.container, parent.key!, { value, enumerable: true, writable: true, configurable: true });
  };
  const handler: JsonHandler = {
    open(kind, depth) {
      while (stack.length > depth) stack.pop();
      const container = kind === 'array' ? [] : {};
      place(container);
      stack.push({ container });
    },
    key(name, depth) {
      while (stack.length > depth) stack.pop();
      stack[depth - 1]!.key = name;
    },
    scalar(value, depth) {
      while (stack.length > depth) stack.pop();
      place(value);
    },
  };
  const parser = new StreamingJsonParser(handler, limits);
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < text.length)].sort((a, b) => a - b)) {
    parser.write(text.subarray(from, cut));
    from = cut;
  }
  parser.write(text.subarray(from));
  parser.end();
  return top;
}

const outcome = (run: () => unknown): { value: unknown } | { error: string } => {
  try {
    return { value: run() };
  } catch (e) {
    if (e instanceof JsonStreamError) return { error: e.code };
    if (e instanceof SyntaxError) return { error: 'NOT_JSON' };
    throw e;
  }
};

/** JSON texts, some pretty, some with any UTF-16 in their strings, and mutations of them: a byte dropped, doubled or replaced. */
const texts = fc
  .tuple(
    fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.jsonValue({ maxDepth: 4, stringUnit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) }),
    ),
    fc.constantFrom(undefined, 1, '\t'),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('drop', 'double', 'replace'), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
  )
  .map(([value, space, mutations]) => {
    let bytes = Buffer.from(JSON.stringify(value, null, space) ?? 'null');
    for (const [at, how, byte] of mutations) {
      const i = at % bytes.length;
      const replaced = how === 'drop' ? [] : how === 'double' ? [bytes[i]!, bytes[i]!] : [byte];
      bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(replaced), bytes.subarray(i + 1)]);
    }
    return bytes;
  });

describe('StreamingJsonParser', () => {
  it('reads exactly what JSON.parse reads, and refuses exactly what it refuses, however the text is cut (property)', () => {
    fc.assert(
      fc.property(texts, fc.array(fc.nat(4000), { maxLength: 6 }), (text, cuts) => {
        const expected = outcome(() => JSON.parse(text.toString('utf8')));
        expect(outcome(() => parse(text, cuts))).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes strings as JSON.parse does, escapes, surrogate pairs and invalid UTF-8 alike, even cut inside a character', () => {
    const text = Buffer.concat([Buffer.from('{"a\\"b":["\\u00e9\\ud83d\\ude00\\\\", "é😀", "'), Buffer.from([0xff, 0xc3]), Buffer.from('"]}')]);
    for (let cut = 0; cut <= text.length; cut++) expect(parse(text, [cut])).toEqual(JSON.parse(text.toString('utf8')));
    for (let cut = 0; cut <= text.length; cut++) expect(parse(text, [cut, cut + 1, cut + 2])).toEqual(JSON.parse(text.toString('utf8')));
  });

  it('refuses input that is empty, unfinished or followed by more', () => {
    for (const text of [
      '',
      '   ',
      '{',
      '{"a":1',
      '[1,',
      '"abc',
      '{"a":1}{',
      '{"a":1} x',
      '{}]',
      '[}',
      '1 2',
      'nul',
      '-',
      '01',
      '[1,]',
      '{"a":1,}',
      '\ufeff{}',
    ]) {
      expect([text, outcome(() => parse(Buffer.from(text)))]).toEqual([text, { error: 'NOT_JSON' }]);
    }
  });

  it('refuses a string longer than its limit, and nesting deeper than its limit, without reading on', () => {
    const limits = { maxStringBytes: 10, maxDepth: 3 };
    expect(outcome(() => parse(Buffer.from('["0123456789"]'), [], limits))).toEqual({ value: ['0123456789'] });
    expect(outcome(() => parse(Buffer.from('["01234567890"]'), [5], limits))).toEqual({ error: 'STRING_TOO_LONG' });
    expect(outcome(() => parse(Buffer.from('[[[1]]]'), [], limits))).toEqual({ value: [[[1]]] });
    expect(outcome(() => parse(Buffer.from(`${'['.repeat(100_000)}`), [], limits))).toEqual({ error: 'TOO_DEEP' });
  });

  it('says where the problem is and what it found, with no control character of the input', () => {
    const error = (text: string) => {
      try {
        parse(Buffer.from(text));
      } catch (e) {
        return e as JsonStreamError;
      }
      throw new Error(`${text} was read`);
    };
    expect(error('{"a": ?}')).toMatchObject({ code: 'NOT_JSON', offset: 6, message: '"?" at byte 6, where a value should be' });
    expect(error('{"a": x}')).toMatchObject({ code: 'NOT_JSON', offset: 6, message: 'the value at byte 6 is no number, true, false or null' });
    expect(error('{"a":\u001b[2J}')).toMatchObject({ message: 'byte 0x1b at byte 5, where a value should be' });
    expect(error('["\u001b[2J"]')).toMatchObject({ message: 'the string at byte 1 holds a control character or an invalid escape' });
    for (const text of ['{"a":\u001b}', '[\u009b]', '{"\u0007": 1, x}']) expect(hasControlCharacters(error(text).message)).toBe(false);
  });
});
