import Big from 'big.js';
import { RESULT_DECIMAL_PLACES, type DecimalType } from './schemas';

/** min and max name who submitted the extreme value, never the value itself. */
export interface Extreme {
  participants: string[];
}

/** The result of a sum, mean, median, min, max or count computation. */
export type AggregateResult = string | Extreme | number;

// A private constructor, so that the mean's division rounds half to even at the documented
// precision without touching the settings of the global Big that other apps share.
const Rounded = Big();
Rounded.DP = RESULT_DECIMAL_PLACES;
Rounded.RM = Big.roundHalfEven;

/**
 * Aggregates the decimals submitted by each participant. Sums are exact; the mean and the median
 * of an even count are rounded to RESULT_DECIMAL_PLACES, half to even.
 */
export function aggregateDecimals(type: DecimalType, values: ReadonlyMap<string, Big>): string | Extreme {
  const numbers = [...values.values()];
  switch (type) {
    case 'sum':
      return decimalText(sum(numbers));
    case 'mean':
      return decimalText(new Rounded(sum(numbers).toString()).div(numbers.length));
    case 'median':
      return decimalText(median(numbers));
    case 'min':
      return extreme(values, (candidate, best) => candidate.lt(best));
    case 'max':
      return extreme(values, (candidate, best) => candidate.gt(best));
  }
}

/** How many participants submitted `true`. */
export function countTrue(values: ReadonlyMap<string, boolean>): number {
  let count = 0;
  for (const value of values.values()) if (value) count++;
  return count;
}

const sum = (numbers: Big[]) => numbers.reduce((total, n) => total.plus(n), new Big(0));

function median(numbers: Big[]): Big {
  const sorted = [...numbers].sort((a, b) => a.cmp(b));
  const middle = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return sorted[middle - 1]!.plus(sorted[middle]!).times('0.5').round(RESULT_DECIMAL_PLACES, Big.roundHalfEven);
}

function extreme(values: ReadonlyMap<string, Big>, beats: (candidate: Big, best: Big) => boolean): Extreme {
  let best: Big | undefined;
  let names: string[] = [];
  for (const [name, value] of values) {
    if (best === undefined || beats(value, best)) {
      best = value;
      names = [name];
    } else if (value.eq(best)) {
      names.push(name);
    }
  }
  return { participants: names.sort() };
}

// Plain notation whatever the magnitude, no trailing zeros (big.js keeps none), and never "-0".
const decimalText = (n: Big) => (n.eq(0) ? '0' : n.toFixed());
