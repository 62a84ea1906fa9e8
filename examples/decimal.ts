import Big from 'big.js';
import { z } from 'zod';
import { ExactNumber } from '../express';

/** Longest decimal accepted, in characters: enough for any real amount, bounded for the parser. */
export const MAX_DECIMAL_CHARS = 100;

const UNSIGNED_TEXT = /^\d+(\.\d+)?$/;
const SIGNED_TEXT = /^-?\d+(\.\d+)?$/;

/**
 * A decimal given as a JSON number (kept exact by the body parser, so `12345678901234567890.01`
 * stays itself) or as a string of digits with an optional fraction, parsed to big.js so that
 * comparisons and sums are exact. Validation messages never echo the value: it is usually secret.
 */
function decimalSchema(signed: boolean) {
  const pattern = signed ? SIGNED_TEXT : UNSIGNED_TEXT;
  const what = signed ? 'a decimal' : 'a non-negative decimal';
  return z
    .unknown()
    .transform((value, ctx): Big => {
      const parsed = toBig(value, pattern);
      if (parsed === undefined || (!signed && parsed.lt(0))) {
        ctx.addIssue({
          code: 'custom',
          message: `expected ${what}: a JSON number or a string of digits such as "1234.56" (at most ${MAX_DECIMAL_CHARS} characters)`,
        });
        return z.NEVER;
      }
      return parsed;
    })
    .meta({
      anyOf: [
        { type: 'number', ...(signed ? {} : { minimum: 0 }) },
        { type: 'string', pattern: pattern.source, maxLength: MAX_DECIMAL_CHARS },
      ],
      description: `${signed ? 'A' : 'A non-negative'} decimal, handled exactly (never rounded to a double).`,
    });
}

/** A non-negative decimal (wealth, amounts); see decimalSchema. */
export const NonNegativeDecimal = decimalSchema(false);
/** A decimal of either sign (statistics over profits and losses); see decimalSchema. */
export const SignedDecimal = decimalSchema(true);

function toBig(value: unknown, pattern: RegExp): Big | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    text = String(value);
  } else if (value instanceof ExactNumber) {
    text = value.text;
  } else if (typeof value === 'string' && pattern.test(value)) {
    text = value;
  } else {
    return undefined;
  }
  if (text.length > MAX_DECIMAL_CHARS) return undefined;
  let big: Big;
  try {
    big = new Big(text);
  } catch {
    return undefined;
  }
  // JSON exponents (1e999999) are valid numbers but would make big.js build huge digit arrays.
  return big.e > MAX_DECIMAL_CHARS || big.e < -MAX_DECIMAL_CHARS ? undefined : big;
}
