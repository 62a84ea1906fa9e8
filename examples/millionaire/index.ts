import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { ExamplesConfig } from '../config';
import { eligibleParticipants } from '../eligible-participants';
import { Rounds } from './rounds';
import { RoundCreated, RoundResult, SubmitWealthBody, WealthAccepted, createRoundBody } from './schemas';
import { ApiRouter, type AppContext, callerOf, errorResponse } from '../../express';

/** Settings of the millionaire app that the runtime configuration does not carry. */
export interface MillionaireOptions {
  /** Most rounds held at once, the `default` round included (default 10,000). */
  maxRounds?: number;
}

const DEFAULT_MAX_ROUNDS = 10_000;
/** The round open from startup to every eligible caller. */
export const DEFAULT_ROUND = 'default';

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
export function millionaireApp(settings: ExamplesConfig['millionaire'], ctx: AppContext, options: MillionaireOptions = {}): ApiRouter {
  const role = settings?.role;
  const eligible = eligibleParticipants(ctx, role);
  const rounds = new Rounds(options.maxRounds ?? DEFAULT_MAX_ROUNDS);
  if (eligible.length >= 2) rounds.create(DEFAULT_ROUND, eligible);


  return new ApiRouter('/millionaire', ctx.limits.jsonBodyBytes)
    .post(
      '/rounds',
      {
        summary: 'Open a round.',
        description:
          'Any authenticated caller may open a round, whether or not they take part. Without `participants`, ' +
          'every eligible caller takes part.',
        body: createRoundBody(eligible, role),
        responses: {
          201: { description: 'The round is open.', schema: RoundCreated },
          409: errorResponse('ROUND_EXISTS: the id is taken; ROUND_LIMIT_REACHED: no more rounds can be held.'),
        },
      },
      (req, res, { body }) => {
        const round = rounds.create(body.id ?? randomUUID(), body.participants);
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
    .get(
      '/rounds/:round/result',
      {
        summary: 'Who is richest.',
        description: 'For participants only, once every participant has submitted; from then on the answer never changes.',
        responses: {
          200: { description: 'The richest participants (all who tie), sorted by name.', schema: RoundResult },
          403: errorResponse('NOT_A_PARTICIPANT'),
          404: errorResponse('ROUND_NOT_FOUND'),
          409: errorResponse('WAITING_FOR_PARTICIPANTS: the message says how many are missing.'),
        },
      },
      (req, res) => {
        res.json({ richest: rounds.result(roundOf(req), callerOf(req).name) });
      },
    );
}
