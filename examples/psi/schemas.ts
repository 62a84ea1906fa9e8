import { z } from 'zod';
import { SignedResultJws } from '../signed-result-schema';

/** Most participants in one session. */
const MAX_PARTICIPANTS = 100;

const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id is 1 to 64 letters, digits, "_" or "-"')
  .describe('Chosen by the creator, or a random UUID when omitted.');

const Normalize = z
  .strictObject({
    trim: z.boolean().default(false).describe('Remove leading and trailing white space (JavaScript String.prototype.trim).'),
    caseFold: z
      .boolean()
      .default(false)
      .describe('Compare case-insensitively: Unicode NFC, then locale-independent lower case (not full case folding: "ß" ≠ "ss").'),
  })
  .describe('Applied to every item before duplicates are removed and sets intersected; the result holds normalised items.');

/**
 * `POST /psi/sessions`. Participants must be configured callers eligible for PSI (`eligible`),
 * listed once each; the check is part of the schema so each bad entry is reported by its index.
 */
export function createSessionBody(eligible: ReadonlySet<string>) {
  return z.strictObject({
    participants: z
      .array(z.string().min(1).max(128))
      .min(2, 'a session needs at least 2 participants')
      .max(MAX_PARTICIPANTS, `a session has at most ${MAX_PARTICIPANTS} participants`)
      .superRefine((names, ctx) => {
        const seen = new Set<string>();
        names.forEach((name, i) => {
          if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [i], message: 'this participant is listed twice' });
          else if (!eligible.has(name)) ctx.addIssue({ code: 'custom', path: [i], message: 'not a configured PSI participant of this deployment' });
          seen.add(name);
        });
      })
      .describe('Who submits a set and may read the result: configured callers with the PSI role, each once.'),
    id: SessionId.optional(),
    cardinalityOnly: z.boolean().default(false).describe('Reveal only the size of the intersection.'),
    normalize: Normalize.default({ trim: false, caseFold: false }),
  });
}

export const SessionCreated = z.object({
  id: z.string(),
  participants: z.array(z.string()),
  cardinalityOnly: z.boolean(),
  normalize: z.object({ trim: z.boolean(), caseFold: z.boolean() }),
  expiresAt: z.string().describe('When the session, its sets and its result are forgotten (ISO 8601); DELETE forgets it sooner.'),
});

export const SetQuery = z.strictObject({
  header: z.enum(['true', 'false']).optional().describe('text/csv only: "true" when the first row is a header, not an item.'),
});

export const SetReceived = z.object({
  received: z.number().int().nonnegative().describe('Distinct items in your set, after normalisation.'),
  missing: z.array(z.string()).describe('Participants who still have to submit.'),
});

export const SessionResult = z.union([
  z.object({
    intersection: z.array(z.string()).describe('Items in every set, sorted by UTF-16 code units.'),
    jws: SignedResultJws.describe(
      'The signed result: its `result` is `{size, intersectionSha256}`, the SHA-256 (hex) of `{"intersection":[...]}` written as JSON.stringify writes it.',
    ),
  }),
  z.object({
    size: z.number().int().nonnegative().describe('How many items are in every set (cardinality-only sessions).'),
    jws: SignedResultJws.describe('The signed result: its `result` is `{size}`.'),
  }),
]);

/** How the upload route documents its three body formats. */
export const SET_BODY = {
  description:
    'Your set, once: a JSON array of strings, or text streamed as one item per line (LF or CRLF), or CSV whose first ' +
    'column holds the items (RFC 4180 quoting). UTF-8 only. Duplicates and empty items are ignored. Limits: ' +
    'apps.psi.maxItems distinct items, apps.psi.maxItemBytes bytes per item, apps.psi.maxUploadBytes for the whole body.',
  content: {
    'application/json': { schema: { type: 'array', items: { type: 'string' } } },
    'text/plain': { schema: { type: 'string', description: 'One item per line.' } },
    'text/csv': { schema: { type: 'string', description: 'Items in the first column.' } },
  },
};
