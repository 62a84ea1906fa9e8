import type Big from 'big.js';

/**
 * Who holds the most: every name whose amount equals the largest, so a tie names all who tie.
 * Amounts are big.js decimals, so the comparison is exact at any size or precision. Names are
 * sorted by UTF-16 code units rather than by locale, so every process answers in the same order.
 */
export function richest(wealth: ReadonlyMap<string, Big>): string[] {
  let top: Big | undefined;
  let names: string[] = [];
  for (const [name, amount] of wealth) {
    const order = top === undefined ? 1 : amount.cmp(top);
    if (order > 0) {
      top = amount;
      names = [name];
    } else if (order === 0) {
      names.push(name);
    }
  }
  return names.sort();
}
