import { z } from 'zod';
import { NonNegativeDecimal } from '../decimal';
import { MAX_IDENTITY_CHARS } from '../../express';
import { SignedResultJws } from '../signed-result-schema';

/** What a round id may look like: safe in a URL path segment and in a log line. */
export const ROUND_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Most participants one request may name; bounds the work done validating a body. */
export const MAX_PARTICIPANTS = 1_000;

const RoundId = z.string().regex(ROUND_ID_PATTERN, 'a round id is 1 to 64 letters, digits, "_" or "-"').describe('The round id; a random UUID when omitted.');

/**
 * The body of `POST /millionaire/rounds`. Eligibility depends on the deployment, so the schema is
 * built per app from the callers eligible for it; its output always lists the participants.
 *
 * @param eligible the callers who may take part, in configuration order.
 * @param role the app's role, named in error messages; undefined when every caller is eligible.
 */
export function createRoundBody(eligible: readonly string[], role: string | undefined) {
  const allowed = new Set(eligible);
  const who = role === undefined ? 'a configured caller' : `a configured caller with the role ${role}`;
  return z
    .strictObject({
      // `abort` keeps the eligibility check below from running on (and quoting) an oversized entry.
      participants: z
        .array(z.string().max(MAX_IDENTITY_CHARS, { abort: true }))
        .min(2, 'a round needs at least 2 participants')
        .max(MAX_PARTICIPANTS, { abort: true, message: `a round has at most ${MAX_PARTICIPANTS} participants` })
        .optional()
        .describe('Who takes part, by caller name; every eligible caller when omitted. The creator need not be one.'),
      id: RoundId.optional(),
    })
    .default({})
    .superRefine(({ participants }, ctx) => {
      if (participants === undefined) {
        if (allowed.size < 2) {
          ctx.addIssue({
            code: 'custom',
            path: ['participants'],
            message: `fewer than 2 callers are eligible (${who}), so name the participants`,
          });
        }
        return;
      }
      const seen = new Set<string>();
      participants.forEach((name, i) => {
        if (seen.has(name)) {
          ctx.addIssue({ code: 'custom', path: ['participants', i], message: `${JSON.stringify(name)} is listed twice` });
        } else if (!allowed.has(name)) {
          ctx.addIssue({ code: 'custom', path: ['participants', i], message: `${JSON.stringify(name)} is not ${who}` });
        }
        seen.add(name);
      });
    })
    .transform(({ participants, id }) => ({ id, participants: participants ?? [...eligible] }));
}

/** The body of `POST /millionaire/rounds/:round/wealth`. */
export const SubmitWealthBody = z.strictObject({
  wealth: NonNegativeDecimal,
});

/** Answer to creating a round. */
export const RoundCreated = z.object({
  id: z.string(),
  participants: z.array(z.string()),
  expiresAt: z.string().describe('When the round and its result are forgotten (ISO 8601); DELETE forgets it sooner.'),
});

/** Answer to a submission: that it counted, and how many participants are still to submit. */
export const WealthAccepted = z.object({
  submitted: z.literal(true),
  missing: z.number().int().min(0).describe('Participants who have not submitted yet; the result is ready at 0.'),
});

/** The result: the richest participant, or every participant who ties for richest, sorted by name. */
export const RoundResult = z.object({
  richest: z.array(z.string()),
  jws: SignedResultJws,
});
