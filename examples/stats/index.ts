import { z } from 'zod';
import { COMPUTATION_DEFAULTS, type ExamplesConfig } from '../config';
import { lifecycleLimits } from '../lifecycle/lifecycle-settings';
import { eligibleParticipants } from '../eligible-participants';
import { Computations, CountComputation, KeymatchComputation } from './computations';
import { ApiRouter, type AppContext, callerOf, errorResponse } from '../../express';
import {
  AggregateReceipt,
  CreatedComputation,
  CountSubmission,
  DecimalSubmission,
  KeyReceipt,
  ResultBody,
  createComputationBody,
  keySubmission,
  parseSubmission,
  submissionBody,
} from './schemas';

const DEFAULT_MAX_KEYS_PER_PARTICIPANT = 10_000;
const DEFAULT_MAX_MESSAGE_BYTES = 280;

/**
 * `/stats`: quorum computations. A computation names its participants and a quorum; its result
 * appears only once the quorum is reached, is locked from then on, and only participants read it.
 * Submitted values, keys and messages never reach a log line or an error message.
 */
export function statsApp(settings: ExamplesConfig['stats'], ctx: AppContext): ApiRouter {
  const maxMessageBytes = settings?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const keySchema = keySubmission(maxMessageBytes);
  const store = new Computations(
    {
      lifecycle: lifecycleLimits(settings, COMPUTATION_DEFAULTS),
      maxKeysPerParticipant: settings?.maxKeysPerParticipant ?? DEFAULT_MAX_KEYS_PER_PARTICIPANT,
    },
    ctx.results,
  );
  const eligible = new Set(eligibleParticipants(ctx, settings?.role));

  return new ApiRouter('/stats', ctx.limits.jsonBodyBytes)
    .post(
      '/computations',
      {
        summary: 'Create a quorum computation.',
        description:
          'Any identified caller may create one; it need not take part. Participants must be configured callers' +
          (settings?.role ? ` with the role ${settings.role}.` : '.'),
        body: createComputationBody(eligible, settings?.role),
        responses: {
          201: { description: 'Created; `id` is the name.', schema: CreatedComputation },
          409: errorResponse('COMPUTATION_EXISTS: the name is taken.'),
          429: errorResponse('COMPUTATION_LIMIT_REACHED: you, or the app, hold as many live computations as allowed; Retry-After says when one expires.'),
        },
      },
      (req, res, { body }) => {
        const creator = callerOf(req).name;
        const { computation, expiresAt } = store.create(body, creator);
        const { spec } = computation;
        ctx.log({
          level: 'info',
          event: 'stats.created',
          computation: spec.name,
          type: spec.type,
          participants: spec.participants.length,
          quorum: spec.quorum,
        });
        res.status(201).json({ id: spec.name, ...spec, expiresAt });
      },
    )
    .delete(
      '/computations/:name',
      {
        summary: 'Delete a computation, with its submissions and result.',
        description: 'Its creator may at any time; a participant only while nobody has submitted.',
        responses: {
          204: { description: 'Deleted: the computation and all it held are forgotten.' },
          403: errorResponse('NOT_ALLOWED_TO_DELETE'),
          404: errorResponse('COMPUTATION_NOT_FOUND'),
        },
      },
      (req, res) => {
        const { name } = callerOf(req);
        const computation = String(req.params.name);
        store.delete(computation, name);
        ctx.log({ level: 'info', event: 'stats.deleted', computation, by: name });
        res.status(204).end();
      },
    )
    .post(
      '/computations/:name/submissions',
      {
        summary: "Submit the caller's input to a computation.",
        description:
          'sum, mean, median, min, max: `{value}`, a decimal, once per participant. count: `{value}`, a boolean, once per participant. ' +
          `keymatch: \`{key, message}\`, each key once, up to ${settings?.maxKeysPerParticipant ?? DEFAULT_MAX_KEYS_PER_PARTICIPANT} keys per participant.`,
        body: submissionBody(maxMessageBytes),
        responses: {
          201: { description: 'Accepted.', schema: z.union([AggregateReceipt, KeyReceipt]) },
          400: errorResponse('INVALID_BODY: the body does not have the shape this computation type takes.'),
          403: errorResponse('NOT_A_PARTICIPANT: the caller does not take part in this computation.'),
          404: errorResponse('COMPUTATION_NOT_FOUND.'),
          409: errorResponse(
            'ALREADY_SUBMITTED: the caller submitted already, the first submission stands. ' +
              'COMPUTATION_CLOSED: the quorum was reached and the result is locked. ' +
              'KEY_ALREADY_SUBMITTED: the caller submitted this key already. ' +
              'KEY_CLOSED: the key matched already and its messages are locked. ' +
              'KEY_LIMIT_REACHED: the caller submitted as many keys as one participant may.',
          ),
        },
      },
      (req, res, { body }) => {
        const caller = callerOf(req).name;
        const computation = store.find(String(req.params.name), caller);
        const { spec } = computation;
        if (computation instanceof KeymatchComputation) {
          const { key, message } = parseSubmission(keySchema, body, spec.type);
          const receipt = computation.submit(caller, key, message);
          res.status(201).json({ computation: spec.name, ...receipt, maxKeys: computation.maxKeys });
          return;
        }
        const receipt =
          computation instanceof CountComputation
            ? computation.submit(caller, parseSubmission(CountSubmission, body, spec.type).value)
            : computation.submit(caller, parseSubmission(DecimalSubmission, body, spec.type).value);
        if (receipt.closed) ctx.log({ level: 'info', event: 'stats.quorum_reached', computation: spec.name, type: spec.type });
        res.status(201).json({ computation: spec.name, ...receipt, quorum: spec.quorum });
      },
    )
    .get(
      '/computations/:name/result',
      {
        summary: 'Read the locked result of a computation.',
        description:
          'Participants only. Aggregates answer 409 WAITING_FOR_QUORUM until the quorum is reached. ' +
          'keymatch answers the matched keys the caller submitted (an empty list when there are none).',
        responses: {
          200: { description: 'The result.', schema: ResultBody },
          403: errorResponse('NOT_A_PARTICIPANT: the caller does not take part in this computation.'),
          404: errorResponse('COMPUTATION_NOT_FOUND.'),
          409: errorResponse('WAITING_FOR_QUORUM: says how many more submissions are needed.'),
        },
      },
      async (req, res) => {
        const caller = callerOf(req).name;
        const computation = store.find(String(req.params.name), caller);
        if (computation instanceof KeymatchComputation) {
          res.json({ result: await computation.result(caller) });
          return;
        }
        const { result, jws } = computation.result();
        res.json({ result, jws: await jws });
      },
    );
}
