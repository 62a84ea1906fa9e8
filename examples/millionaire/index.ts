import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { type ExamplesConfig, ROUND_DEFAULTS } from '../config';
import { lifecycleLimits } from '../lifecycle/lifecycle-settings';
import { eligibleParticipants } from '../eligible-participants';
import { Rounds } from './rounds';
import { RoundCreated, RoundResult, SubmitWealthBody, WealthAccepted, createRoundBody } from './schemas';
import { ApiRouter, type AppContext, callerOf, errorResponse } from '../../express';

/** The round open from startup to every eligible caller, and opened again whenever it expires. */
export const DEFAULT_ROUND = 'default';
/** Who creates the default round: no caller, so it counts against no caller's limit. */
const SERVICE = '(service)';

// Express types a parameter as string | string[] because wildcards repeat; `:round` never does.
const roundOf = (req: Request): string => {
  const id = req.params.round;
  return typeof id === 'string' ? id : '';
};

/**
 * Yao's millionaires' problem under `/millionaire`: participants of a round each submit their
 * wealth once, and once all have, each may learn who is richest (everyone who ties), and nothing
 * else. No amount ever appears in a response, an error or a log line.
 */
export function millionaireApp(settings: ExamplesConfig['millionaire'], ctx: AppContext): ApiRouter {
  const role = settings?.role;
  const eligible = eligibleParticipants(ctx, role);
  const openDefaultRound = () => eligible.length >= 2 && rounds.create(DEFAULT_ROUND, eligible, SERVICE);
  const rounds = new Rounds(lifecycleLimits(settings, ROUND_DEFAULTS), ctx.results, (id) => id === DEFAULT_ROUND && openDefaultRound());
  openDefaultRound();

  return new ApiRouter('/millionaire', ctx.limits.jsonBodyBytes)
    .post(
      '/rounds',
      {
        summary: 'Open a round.',
        description: 'Any authenticated caller may open a round, whether or not they take part. Without `participants`, ' + 'every eligible caller takes part.',
        body: createRoundBody(eligible, role),
        responses: {
          201: { description: 'The round is open.', schema: RoundCreated },
          409: errorResponse('ROUND_EXISTS: the id is taken.'),
          429: errorResponse('ROUND_LIMIT_REACHED: you, or the app, hold as many live rounds as allowed; Retry-After says when one expires.'),
        },
      },
      (req, res, { body }) => {
        const round = rounds.create(body.id ?? randomUUID(), body.participants, callerOf(req).name);
        ctx.log({ level: 'info', event: 'millionaire.round_created', round: round.id, participants: round.participants.length, by: callerOf(req).name });
        res.status(201).json(round);
      },
    )
    .post(
      '/rounds/:round/wealth',
      {
        summary: 'Submit your wealth, once.',
        description: 'Compared exactly as a decimal. A second submission is refused and the first one stands.',
        body: SubmitWealthBody,
        responses: {
          201: { description: 'Recorded.', schema: WealthAccepted },
          403: errorResponse('NOT_A_PARTICIPANT'),
          404: errorResponse('ROUND_NOT_FOUND'),
          409: errorResponse('ALREADY_SUBMITTED'),
        },
      },
      (req, res, { body }) => {
        const id = roundOf(req);
        const { name } = callerOf(req);
        const { missing } = rounds.submit(id, name, body.wealth);
        ctx.log({ level: 'info', event: 'millionaire.wealth_submitted', round: id, by: name, missing });
        res.status(201).json({ submitted: true, missing });
      },
    )
    .delete(
      '/rounds/:round',
      {
        summary: 'Delete a round, and any amounts and result with it.',
        description: 'Its creator may at any time; a participant only while nobody has submitted.',
        responses: {
          204: { description: 'Deleted: the round, its amounts and its result are forgotten.' },
          403: errorResponse('NOT_ALLOWED_TO_DELETE'),
          404: errorResponse('ROUND_NOT_FOUND'),
        },
      },
      (req, res) => {
        const { name } = callerOf(req);
        rounds.delete(roundOf(req), name);
        ctx.log({ level: 'info', event: 'millionaire.round_deleted', round: roundOf(req), by: name });
        res.status(204).end();
      },
    )
    .get(
      '/rounds/:round/result',
      {
        summary: 'Who is richest.',
        description: 'For participants only, once every participant has submitted; from then on the answer never changes.',
        responses: {
          200: { description: 'The richest participants (all who tie), sorted by name, and the result signed by the enclave.', schema: RoundResult },
          403: errorResponse('NOT_A_PARTICIPANT'),
          404: errorResponse('ROUND_NOT_FOUND'),
          409: errorResponse('WAITING_FOR_PARTICIPANTS: the message says how many are missing.'),
        },
      },
      async (req, res) => {
        const { richest, jws } = rounds.result(roundOf(req), callerOf(req).name);
        res.json({ richest, jws: await jws });
      },
    );
}
