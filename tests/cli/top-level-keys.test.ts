import fc from 'fast-check';
import { topLevelKeys } from '../../cli/top-level-keys';

describe('topLevelKeys', () => {
  it('gives the top-level names of any object, however it is laid out', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom(undefined, 2, '\t'), (object, indent) => {
        expect(topLevelKeys(JSON.stringify(object, null, indent))).toEqual(Object.keys(object));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps repeated names, which JSON.parse would fold into the last', () => {
    expect(topLevelKeys('{"jws":"a", "intersection":[], "jws" : "b"}')).toEqual(['jws', 'intersection', 'jws']);
  });

  it('does not take names inside nested values or strings that look like names', () => {
    expect(topLevelKeys('{"a":{"jws":1},"b":["jws"],"c":"\\"jws\\":","jws":"x"}')).toEqual(['a', 'b', 'c', 'jws']);
  });

  it('decodes escaped names', () => {
    expect(topLevelKeys('{"\\u006aws":1}')).toEqual(['jws']);
  });
});
