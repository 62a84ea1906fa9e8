import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { type ExamplesConfig, SESSION_DEFAULTS } from '../config';
import { lifecycleLimits } from '../lifecycle/lifecycle-settings';
import { eligibleParticipants } from '../eligible-participants';
import { unsupportedSetType } from './errors';
import { normalizer } from './normalize';
import { SET_MEDIA_TYPES, type SetFormat, readItems } from './read-items';
import { SET_BODY, SessionCreated, SessionResult, SetQuery, SetReceived, createSessionBody } from './schemas';
import { PsiSessions } from './sessions';
import { ApiRouter, type AppContext, badRequest, callerOf, errorResponse } from '../../express';

const DEFAULTS = { maxItems: 2_000_000, maxItemBytes: 1_024, maxUploadBytes: 256 << 20 };

/**
 * Private set intersection: `POST /psi/sessions` declares the participants (and whether only the
 * size is revealed, and how items are normalised); each participant streams its set once to
 * `POST /psi/sessions/:session/set`; once all have, each may read `GET /psi/sessions/:session/result`.
 * No set, item or count is ever logged.
 */
export function psiApp(block: ExamplesConfig['psi'], ctx: AppContext): ApiRouter {
  const settings = { ...DEFAULTS, ...block };
  const eligible = new Set(eligibleParticipants(ctx, settings.role));
  const sessions = new PsiSessions({ lifecycle: lifecycleLimits(block, SESSION_DEFAULTS), maxItems: settings.maxItems }, ctx.results);

  return new ApiRouter('/psi', ctx.limits.jsonBodyBytes)
    .post(
      '/sessions',
      {
        summary: 'Create a PSI session.',
        description: 'Any identified caller may create a session; the creator need not take part.',
        body: createSessionBody(eligible),
        responses: {
          201: { description: 'The session, as created.', schema: SessionCreated },
          409: errorResponse('The id is taken (SESSION_EXISTS).'),
          429: errorResponse('You, or the app, hold as many live sessions as allowed (TOO_MANY_SESSIONS); Retry-After says when one expires.'),
        },
      },
      (req, res, { body }) => {
        const { participants, cardinalityOnly, normalize } = body;
        const spec = { id: body.id ?? randomUUID(), participants, cardinalityOnly, normalize };
        const { expiresAt } = sessions.create(spec, callerOf(req).name);
        res.status(201).json({ ...spec, expiresAt });
      },
    )
    .delete(
      '/sessions/:session',
      {
        summary: 'Delete a session, and every set and result with it.',
        description: 'Its creator may at any time; a participant only while no set has been sent.',
        responses: {
          204: { description: 'Deleted: the session and all it held are forgotten.' },
          403: errorResponse('NOT_ALLOWED_TO_DELETE'),
          404: errorResponse('SESSION_NOT_FOUND'),
        },
      },
      (req, res) => {
        const { name } = callerOf(req);
        sessions.delete(sessionId(req), name);
        ctx.log({ level: 'info', event: 'psi.session_deleted', session: sessionId(req), by: name });
        res.status(204).end();
      },
    )
    .post(
      '/sessions/:session/set',
      {
        summary: "Submit the caller's set, once.",
        description:
          'The body is read as it arrives and never stored whole. If the upload fails or is cut short nothing is kept, ' +
          'and the participant may send it again.',
        query: SetQuery,
        rawBody: SET_BODY,
        responses: {
          201: { description: 'The set is committed.', schema: SetReceived },
          400: errorResponse(
            'Malformed body (MALFORMED_JSON, MALFORMED_CSV), invalid UTF-8 (INVALID_UTF8), a body cut short (BODY_ABORTED), ' +
              'or a bad "header" parameter (INVALID_QUERY).',
          ),
          403: errorResponse('The caller is not a participant (NOT_A_PARTICIPANT).'),
          404: errorResponse('No such session (SESSION_NOT_FOUND).'),
          409: errorResponse('The caller already submitted, or is submitting (ALREADY_SUBMITTED).'),
          413: errorResponse('Too many distinct items (SET_TOO_LARGE), an item too long (ITEM_TOO_LONG), or a body over maxUploadBytes (BODY_TOO_LARGE).'),
          415: errorResponse('Not application/json, text/plain or text/csv in UTF-8 without Content-Encoding (UNSUPPORTED_MEDIA_TYPE).'),
        },
      },
      async (req, res, { query }) => {
        const session = sessions.get(sessionId(req));
        const upload = session.beginUpload(callerOf(req).name);
        try {
          const format = setFormat(req);
          if (query.header !== undefined && format !== 'csv') {
            throw badRequest('INVALID_QUERY', 'The query parameter "header" applies to text/csv bodies only.');
          }
          const options = {
            format,
            csvHeader: query.header === 'true',
            maxItemBytes: settings.maxItemBytes,
            maxUploadBytes: settings.maxUploadBytes,
            normalize: normalizer(session.spec.normalize),
          };
          await readItems(req, options, upload.add);
        } catch (e) {
          upload.abandon();
          ctx.log({ level: 'warn', event: 'psi.upload.failed', session: session.spec.id, reason: codeOf(e) });
          throw e;
        }
        res.status(201).json(await upload.commit());
      },
    )
    .get(
      '/sessions/:session/result',
      {
        summary: 'Read the intersection (or its size), once every participant has submitted.',
        responses: {
          200: { description: 'The intersection, the same for every participant.', schema: SessionResult },
          403: errorResponse('The caller is not a participant (NOT_A_PARTICIPANT).'),
          404: errorResponse('No such session (SESSION_NOT_FOUND).'),
          409: errorResponse('Sets are still missing (WAITING_FOR_PARTICIPANTS); the message says how many.'),
        },
      },
      async (req, res) => {
        const outcome = await sessions.get(sessionId(req)).result(callerOf(req).name);
        res.setHeader('Cache-Control', 'no-store');
        if ('size' in outcome) {
          res.json({ size: outcome.size, jws: outcome.jws });
          return;
        }
        res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Content-Length', outcome.body.length);
        res.end(outcome.body);
      },
    );
}

/**
 * The body's format from its Content-Type; 415 for any other type, a charset other than UTF-8, or
 * a compressed body (the items are parsed from the bytes as they arrive).
 */
function setFormat(req: Request): SetFormat {
  const [type = '', ...parameters] = (req.headers['content-type'] ?? '').split(';');
  const format = SET_MEDIA_TYPES[type.trim().toLowerCase() as keyof typeof SET_MEDIA_TYPES];
  const charset = parameters.map((p) => /^\s*charset\s*=\s*"?([^"\s]*)"?\s*$/i.exec(p)?.[1]).find((c) => c !== undefined);
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (format === undefined || (charset !== undefined && !/^utf-?8$/i.test(charset)) || encoding !== 'identity') {
    throw unsupportedSetType();
  }
  return format;
}

const sessionId = (req: Request) => String(req.params.session);

function codeOf(error: unknown): string {
  return typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'INTERNAL';
}
