import express, { type Express } from 'express';
import { parseConfig } from '../contract/config';
import type { AppContext } from './context';
import { helloApp } from './hello';
import { ApiRouter } from './http/api-router';
import { millionaireApp } from './millionaire';
import { outboundApp } from './outbound';
import { psiApp } from './psi';
import { statsApp } from './stats';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { identity } from './identity';
import { type Logger, jsonLinesLogger, requestLog } from './log';
import { openApiDocument } from './openapi';

export { ConfigError, parseConfig, type RuntimeConfig } from '../contract/config';
export { type Identity, callerOf, identity, requireIdentity, requireRole } from './identity';
export { HttpError } from './http/errors';
export type { Logger, LogEntry } from './log';

export interface CreateAppOptions {
  /** Where request and error lines go (default: JSON lines on stdout). Never receives bodies. */
  log?: Logger;
}

const DEFAULT_JSON_LIMIT_BYTES = 1 << 20;
/** Version of the HTTP contract in /openapi.json; bump it when a route or field changes. */
const API_VERSION = '1.0.0';

/**
 * Builds the Express app with every example app mounted under its own prefix, the identity
 * middleware in front, and one JSON error handler behind. The configuration is validated first:
 * a bad one throws `ConfigError` naming each bad field, before anything listens.
 *
 * @example
 * const app = createApp(JSON.parse(fs.readFileSync('cloister.config.json', 'utf8')));
 * app.listen(8080, '127.0.0.1');
 */
export function createApp(config: unknown, options: CreateAppOptions = {}): Express {
  const parsed = parseConfig(config);
  const ctx: AppContext = {
    config: parsed,
    log: options.log ?? jsonLinesLogger,
    jsonLimitBytes: parsed.limits?.jsonBodyBytes ?? DEFAULT_JSON_LIMIT_BYTES,
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(ctx.log));
  app.use(identity());

  const apis = [helloApp(ctx), millionaireApp(ctx), psiApp(ctx), statsApp(ctx), outboundApp(ctx)];
  let document: object | undefined;
  apis.push(
    new ApiRouter('/openapi.json', ctx.jsonLimitBytes).get(
      '/',
      { summary: 'This document: every route, generated from the schemas that validate requests.', anonymous: true, responses: { 200: { description: 'OpenAPI 3.1.' } } },
      (_req, res) => {
        document ??= openApiDocument(apis, API_VERSION);
        res.json(document);
      },
    ),
  );
  for (const api of apis) app.use(api.prefix, api.router);

  app.use(notFoundHandler());
  app.use(errorHandler(ctx.log));
  return app;
}
