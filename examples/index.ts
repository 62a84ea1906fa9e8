import express, { type Express } from 'express';
import { type AppContext, ApiRouter, errorHandler, identity, notFoundHandler, openApiDocument } from '../express';
import { type ExamplesConfig, ExamplesConfigSchema } from './config';
import { helloApp } from './hello';
import { millionaireApp } from './millionaire';
import { outboundApp } from './outbound';
import { psiApp } from './psi';
import { statsApp } from './stats';

/** Version of the HTTP contract in /openapi.json; bump it when a route or field changes. */
const API_VERSION = '1.0.0';

/**
 * The configuration block the app host validates before calling `createExamples`: the `apps:`
 * part of the deployment configuration, one optional entry per example.
 */
export const configSchema = ExamplesConfigSchema;
export type { ExamplesConfig };

/**
 * The example apps as one app module, the way a user's service is hosted: each example mounted
 * under its own prefix, the identity middleware in front, and one JSON error handler behind.
 *
 * @example
 * // the app host does this with the `apps:` block of the deployment configuration
 * http.createServer(createExamples(configSchema.parse(config.apps ?? {}), context)).listen(…);
 */
export default function createExamples(config: ExamplesConfig, context: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(identity());

  const apis = [
    helloApp(context),
    millionaireApp(config.millionaire, context),
    psiApp(config.psi, context),
    statsApp(config.stats, context),
    outboundApp(config.outbound, context),
  ];
  let document: object | undefined;
  apis.push(
    new ApiRouter('/openapi.json', context.limits.jsonBodyBytes).get(
      '/',
      {
        summary: 'This document: every route, generated from the schemas that validate requests.',
        anonymous: true,
        responses: { 200: { description: 'OpenAPI 3.1.' } },
      },
      (_req, res) => {
        document ??= openApiDocument(apis, API_VERSION);
        res.json(document);
      },
    ),
  );
  for (const api of apis) app.use(api.prefix, api.router);

  app.use(notFoundHandler());
  app.use(errorHandler(context.log));
  return app;
}
