import { nestedDeeperThan } from '../../cli/nesting-depth';
import { terminalJson, terminalText } from '../../cli/terminal-text';
import { hasControlCharacters } from '../helpers/control-characters';

describe('nestedDeeperThan', () => {
  it('counts containers, not scalars, without recursion', () => {
    expect([nestedDeeperThan(7, 0), nestedDeeperThan([], 0), nestedDeeperThan([[1]], 1), nestedDeeperThan([[1]], 2)]).toEqual([false, true, true, false]);
    expect(nestedDeeperThan({ a: [1, { b: 'x' }], c: [] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: ['x'] }], c: [] }, 3)).toBe(true);
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect([nestedDeeperThan(deep, 199_999), nestedDeeperThan(deep, 200_000)]).toEqual([true, false]);
    expect(
      nestedDeeperThan(
        Array.from({ length: 1_000_000 }, (_, i) => i),
        1,
      ),
    ).toBe(false);
  });
});

describe('terminal output', () => {
  it('escapes every control in text, line breaks included, and cuts it', () => {
    expect(terminalText('a\u001b[2J\nb\u009b')).toBe('a\\u001b[2J\\u000ab\\u009b');
    expect(terminalText('abcdef', 3)).toBe('abc…');
  });

  it('writes JSON that means the same, indented, with no control character but its line breaks', () => {
    const value = { a: '\u009b[31m\u2028\u202e', b: ['\u001b', 1] };
    const json = terminalJson(value, 2);
    expect(JSON.parse(json)).toEqual(value);
    expect(json.split('\n')).toHaveLength(JSON.stringify(value, null, 2).split('\n').length);
    expect(hasControlCharacters(json.replace(/\n/g, ''))).toBe(false);
  });
});
