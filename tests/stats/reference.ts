/**
 * An independent reference for the stats aggregates: decimals as scaled BigInts, with rounding
 * written out by hand, so that it shares no code (and no big.js) with the implementation.
 */

interface Scaled {
  units: bigint;
  scale: number;
}

/** Parses "-12.340" into units and a count of decimal places. */
export function parseDecimal(text: string): Scaled {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: ${text}`);
  const fraction = match[3] ?? '';
  const units = BigInt(match[2]! + fraction);
  return { units: match[1] ? -units : units, scale: fraction.length };
}

/** Writes units at a scale in plain notation, without trailing zeros and without "-0". */
export function formatScaled(units: bigint, scale: number): string {
  if (units === 0n) return '0';
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const intPart = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${intPart}${fraction ? `.${fraction}` : ''}`;
}

function align(texts: string[]): { units: bigint[]; scale: number } {
  const parsed = texts.map(parseDecimal);
  const scale = Math.max(...parsed.map((p) => p.scale));
  return { units: parsed.map((p) => p.units * 10n ** BigInt(scale - p.scale)), scale };
}

/** n / d rounded to an integer, half to even; d > 0. */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  const magnitude = n < 0n ? -n : n;
  let q = magnitude / d;
  const twiceRemainder = 2n * (magnitude % d);
  if (twiceRemainder > d || (twiceRemainder === d && q % 2n === 1n)) q += 1n;
  return n < 0n ? -q : q;
}

const PLACES = 20;

/** (n / d) at a scale, rounded to 20 places half to even, formatted. */
function rounded(n: bigint, scale: number, d: bigint): string {
  return formatScaled(divideHalfEven(n * 10n ** BigInt(PLACES), d * 10n ** BigInt(scale)), PLACES);
}

export function referenceSum(texts: string[]): string {
  const { units, scale } = align(texts);
  return formatScaled(
    units.reduce((a, b) => a + b, 0n),
    scale,
  );
}

export function referenceMean(texts: string[]): string {
  const { units, scale } = align(texts);
  return rounded(
    units.reduce((a, b) => a + b, 0n),
    scale,
    BigInt(texts.length),
  );
}

export function referenceMedian(texts: string[]): string {
  const { units, scale } = align(texts);
  const sorted = [...units].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return formatScaled(sorted[middle]!, scale);
  return rounded(sorted[middle - 1]! + sorted[middle]!, scale, 2n);
}

/** The names whose value is the minimum (or maximum), sorted. */
export function referenceExtreme(entries: [name: string, text: string][], which: 'min' | 'max'): string[] {
  const { units } = align(entries.map(([, text]) => text));
  const best = units.reduce((a, b) => ((which === 'min' ? b < a : b > a) ? b : a));
  return entries
    .filter((_, i) => units[i] === best)
    .map(([name]) => name)
    .sort();
}

/** The reference for any decimal type. */
export function referenceAggregate(type: string, entries: [name: string, text: string][]): unknown {
  const texts = entries.map(([, text]) => text);
  switch (type) {
    case 'sum':
      return referenceSum(texts);
    case 'mean':
      return referenceMean(texts);
    case 'median':
      return referenceMedian(texts);
    case 'min':
    case 'max':
      return { participants: referenceExtreme(entries, type) };
  }
  throw new Error(`no reference for ${type}`);
}
