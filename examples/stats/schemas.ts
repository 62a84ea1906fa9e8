import { z } from 'zod';
import { SignedResultJws } from '../signed-result-schema';
import { SignedDecimal } from '../decimal';
import { jsonSchema, MAX_IDENTITY_CHARS, validate } from '../../express';

/** Every kind of computation, in the order the documentation lists them. */
export const COMPUTATION_TYPES = ['sum', 'mean', 'median', 'min', 'max', 'count', 'keymatch'] as const;
export type ComputationType = (typeof COMPUTATION_TYPES)[number];
/** The types whose participants each submit one decimal. */
export type DecimalType = 'sum' | 'mean' | 'median' | 'min' | 'max';

/** Most participants one computation may list. */
export const MAX_PARTICIPANTS = 1_000;
/** Longest keymatch key, in UTF-16 code units (JavaScript string length). */
export const MAX_KEY_CHARS = 256;
/** Decimal places kept by results that are not exact (mean, median of an even count). */
export const RESULT_DECIMAL_PLACES = 20;

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A computation's name, which is also its id and its path segment. */
export const ComputationName = z
  .string()
  .regex(NAME_PATTERN, 'expected 1 to 64 letters, digits, "_" or "-"')
  .describe('Names the computation and is its id in URLs: 1 to 64 letters, digits, "_" or "-".');

const TYPE_DESCRIPTION =
  'sum, mean, median: each participant submits one decimal, the result is a decimal string. ' +
  'min, max: each participant submits one decimal, the result names who submitted the extreme value (never the value). ' +
  'count: each participant submits a boolean, the result is how many submitted true. ' +
  'keymatch: participants submit keys with short messages; a key matches once `quorum` participants submitted it.';

/**
 * The body of `POST /stats/computations`, checked against the callers eligible to take part:
 * configured callers with the app's role (`eligibleParticipants`).
 */
export function createComputationBody(eligible: ReadonlySet<string>, role: string | undefined) {
  const notEligible = role === undefined ? 'not a configured caller' : `not a configured caller with the role ${role}`;
  return z
    .strictObject({
      name: ComputationName,
      type: z.enum(COMPUTATION_TYPES).describe(TYPE_DESCRIPTION),
      participants: z
        .array(z.string().max(MAX_IDENTITY_CHARS))
        .min(2)
        .max(MAX_PARTICIPANTS)
        .describe('Who takes part, by caller name: at least two, each once. Only they submit and read the result.'),
      quorum: z
        .number()
        .int()
        .min(2)
        .max(MAX_PARTICIPANTS)
        .describe(
          'How many participants must submit before the result appears (aggregates), or submit the same key before it matches (keymatch). At most the number of participants.',
        ),
    })
    .superRefine((body, ctx) => {
      const seen = new Set<string>();
      body.participants.forEach((participant, i) => {
        if (seen.has(participant)) {
          ctx.addIssue({ code: 'custom', path: ['participants', i], message: 'listed twice; list each participant once' });
        } else if (!eligible.has(participant)) {
          ctx.addIssue({ code: 'custom', path: ['participants', i], message: notEligible });
        }
        seen.add(participant);
      });
      if (body.quorum > body.participants.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['quorum'],
          message: `expected at most the number of participants (${body.participants.length})`,
        });
      }
    });
}

/** A computation as its creator defined it, and as `POST /stats/computations` answers it. */
export const CreatedComputation = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(COMPUTATION_TYPES),
  participants: z.array(z.string()),
  quorum: z.number().int(),
  expiresAt: z.string().describe('When the computation, its submissions and its result are forgotten (ISO 8601); DELETE forgets it sooner.'),
});

/** What one participant submits to a sum, mean, median, min or max computation. */
export const DecimalSubmission = z.strictObject({ value: SignedDecimal });

/** What one participant submits to a count computation. */
export const CountSubmission = z.strictObject({
  value: z.boolean().describe('true to be counted.'),
});

/** What a participant submits to a keymatch computation, once per key. */
export function keySubmission(maxMessageBytes: number) {
  return z.strictObject({
    key: z.string().min(1).max(MAX_KEY_CHARS).describe(`The key to match: 1 to ${MAX_KEY_CHARS} characters (UTF-16 code units), compared exactly.`),
    message: z
      .string()
      .refine((m) => Buffer.byteLength(m, 'utf8') <= maxMessageBytes, `expected at most ${maxMessageBytes} bytes of UTF-8`)
      .describe(`Shown, once the key matches, to the other participants who submitted the key: at most ${maxMessageBytes} bytes of UTF-8.`),
  });
}

/**
 * The body the router accepts for a submission: any JSON object, documented as one of the three
 * shapes. Which shape is right depends on the computation's type, known only after looking it up,
 * so `parseSubmission` checks it then, after the 404 and 403 checks.
 */
export function submissionBody(maxMessageBytes: number) {
  return z.looseObject({}).meta({
    description: '{value: decimal} for sum, mean, median, min and max; {value: boolean} for count; {key, message} for keymatch.',
    oneOf: [DecimalSubmission, CountSubmission, keySubmission(maxMessageBytes)].map((s) => jsonSchema(s, 'input')),
  });
}

/** Validates a submission against the shape its computation's type takes: 400 with field detail. */
export function parseSubmission<S extends z.ZodType>(schema: S, body: unknown, type: ComputationType): z.output<S> {
  return validate(schema, body, 'INVALID_BODY', `The request body for a ${type} computation`);
}

/** The answer to an accepted submission to a sum, mean, median, min, max or count computation. */
export const AggregateReceipt = z.object({
  computation: z.string(),
  submissions: z.number().int().describe('Submissions accepted so far, this one included.'),
  quorum: z.number().int(),
  closed: z.boolean().describe('Whether the quorum is reached: the result is fixed and no more submissions are accepted.'),
});

/** The answer to an accepted keymatch submission. */
export const KeyReceipt = z.object({
  computation: z.string(),
  matched: z.boolean().describe('Whether the key has now been submitted by `quorum` participants, its result readable.'),
  keysSubmitted: z.number().int().describe('Keys the caller has submitted to this computation, this one included.'),
  maxKeys: z.number().int().describe('Keys one participant may submit to this computation.'),
});

/** One matched key, with the message of every participant who submitted it. */
export const KeyMatch = z.object({
  key: z.string(),
  messages: z.array(z.object({ from: z.string(), message: z.string() })).describe('Sorted by submitter name (UTF-16 code-unit order).'),
  jws: SignedResultJws.describe('This release signed when the key matched: its `result` is `{key, messages}`, its participants the submitters.'),
});

/** The body of `GET /stats/computations/:name/result`, by type. */
export const ResultBody = z.object({
  result: z
    .union([
      z
        .string()
        .describe(
          `sum, mean, median: a decimal string. A sum is exact; a mean, and the median of an even number of values, is rounded to ${RESULT_DECIMAL_PLACES} decimal places (half to even). Trailing zeros are removed, never an exponent.`,
        ),
      z.object({ participants: z.array(z.string()) }).describe('min, max: who submitted the extreme value, all of them on a tie, sorted.'),
      z.number().int().describe('count: how many participants submitted true.'),
      z.array(KeyMatch).describe('keymatch: the matched keys the caller submitted, sorted by key (UTF-16 code-unit order).'),
    ])
    .describe('The locked result.'),
  jws: SignedResultJws.optional().describe('The aggregate signed when the quorum was reached (keymatch signs each matched key instead).'),
});
