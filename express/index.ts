/**
 * `cloister/express`: what an app served by Cloister imports. Identity middleware for the headers
 * the ingress sets, the schema router (zod validation, OpenAPI, JSON errors), and the types of the
 * app host's contract (`AppFactory`, `AppContext`).
 *
 * @example
 * import express from 'express';
 * import { type AppFactory, identity, requireRole } from 'cloister/express';
 *
 * const createApp: AppFactory = () => {
 *   const app = express();
 *   app.use(identity());
 *   app.get('/hello', requireRole('member'), (req, res) => res.json({ hello: req.identity!.name }));
 *   return app;
 * };
 * export default createApp;
 */
export {
  type AppContext,
  type AppFactory,
  type AppModule,
  type ConfigIssue,
  type ConfigSchema,
  APP_CONFIG_ENV,
  DEFAULT_JSON_BODY_BYTES,
  LISTEN_ENV,
} from '../contract/app-host';
export {
  RESULTS_KEY_ENV,
  RESULT_JWS_TYPE,
  type ResultClaims,
  type ResultSigner,
  type ResultsKeyMaterial,
  type SignedResultPayload,
  createResultSigner,
} from '../contract/signed-result';
export { EgressAllowlist, type EgressTarget, canonicalHost, describeTarget } from '../contract/allowlist';
export {
  IDENTITY_PATTERN,
  type Identity,
  MAX_IDENTITY_CHARS,
  USER_NAME_HEADER,
  USER_ROLE_HEADER,
  callerOf,
  identity,
  isValidIdentityValue,
  readIdentity,
  requireIdentity,
  requireRole,
} from './identity';
export { ApiRouter, ErrorBody, type ResponseSpec, type RouteHandler, type RouteSpec, errorResponse, jsonSchema, validate } from './api-router';
export { errorHandler, notFoundHandler } from './error-handler';
export { type FieldIssue, HttpError, badRequest, conflict, forbidden, notFound, tooLarge, tooManyRequests, unauthorized } from './http-error';
export { ExactNumber, jsonBody } from './json-body';
export { openApiDocument } from './openapi';
export { type BodyRefusals, consumeBody, readBody } from './read-body';
export { type LogEntry, type Logger, jsonLinesLogger, requestLog, silentLogger } from './request-log';
