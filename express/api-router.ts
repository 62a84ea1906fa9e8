import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { HttpError, badRequest, type FieldIssue } from './http-error';
import { requireIdentity } from './identity';
import { jsonBody } from './json-body';

type Method = 'get' | 'post' | 'put' | 'delete';

/** A response a route documents; `schema` is the JSON body, when there is one. */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

/**
 * What a route accepts and answers. The same zod schemas validate requests at run time and
 * produce the route's entry in `GET /openapi.json`, so the document cannot drift from the code.
 */
export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined> {
  summary: string;
  description?: string;
  /** Validates the JSON body (numbers kept exact, see json-body.ts). */
  body?: B;
  /** Validates the query string. */
  query?: Q;
  /** For routes that read their own body (streamed uploads): documented, not parsed here. */
  rawBody?: { description: string; content: Record<string, { schema: object }> };
  /** Set for routes anyone may call; the rest answer 401 to anonymous callers, before parsing. */
  anonymous?: boolean;
  responses: Record<number, ResponseSpec>;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export type RouteHandler<B, Q> = (req: Request, res: Response, input: { body: Output<B>; query: Output<Q> }) => unknown;

/**
 * An Express Router that validates with zod schemas, records OpenAPI operations from them, and
 * answers 405 with an `Allow` header for a known path called with a method it does not serve.
 */
export class ApiRouter {
  readonly router = Router();
  private readonly operations = new Map<string, Map<Method, object>>();

  /** @param prefix where the router is mounted, used only for the OpenAPI paths. */
  constructor(
    readonly prefix: string,
    private readonly jsonLimitBytes: number,
  ) {}

  get<Q extends z.ZodType | undefined = undefined>(path: string, spec: RouteSpec<undefined, Q>, handler: RouteHandler<undefined, Q>): this {
    return this.add('get', path, spec, handler);
  }

  post<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
    path: string,
    spec: RouteSpec<B, Q>,
    handler: RouteHandler<B, Q>,
  ): this {
    return this.add('post', path, spec, handler);
  }

  delete<Q extends z.ZodType | undefined = undefined>(path: string, spec: RouteSpec<undefined, Q>, handler: RouteHandler<undefined, Q>): this {
    return this.add('delete', path, spec, handler);
  }

  /** The OpenAPI 3.1 `paths` entries of every route added so far. */
  openApiPaths(): Record<string, Record<string, object>> {
    const paths: Record<string, Record<string, object>> = {};
    for (const [path, byMethod] of this.operations) {
      paths[toOpenApiPath(joinPath(this.prefix, path))] = Object.fromEntries(byMethod);
    }
    return paths;
  }

  private add<B extends z.ZodType | undefined, Q extends z.ZodType | undefined>(
    method: Method,
    path: string,
    spec: RouteSpec<B, Q>,
    handler: RouteHandler<B, Q>,
  ): this {
    let byMethod = this.operations.get(path);
    if (!byMethod) {
      byMethod = new Map();
      this.operations.set(path, byMethod);
      this.router.all(path, methodGuard(byMethod));
    }
    byMethod.set(method, operation(path, spec));

    const chain: RequestHandler[] = [];
    if (!spec.anonymous) chain.push(requireIdentity());
    if (spec.body) chain.push(jsonBody(this.jsonLimitBytes));
    chain.push(async (req, res) => {
      const body = spec.body ? validate(spec.body, req.body, 'INVALID_BODY', 'The request body') : undefined;
      const query = spec.query ? validate(spec.query, req.query, 'INVALID_QUERY', 'The query string') : undefined;
      await handler(req, res, { body, query } as { body: Output<B>; query: Output<Q> });
    });
    this.router[method](path, ...chain);
    return this;
  }
}

function methodGuard(byMethod: Map<Method, object>): RequestHandler {
  return (req, res, next) => {
    const method = req.method.toLowerCase();
    if (byMethod.has(method as Method) || (method === 'head' && byMethod.has('get'))) {
      next();
      return;
    }
    const allow = [...byMethod.keys()].map((m) => m.toUpperCase());
    if (allow.includes('GET')) allow.push('HEAD');
    res.setHeader('Allow', allow.join(', '));
    next(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use ${allow.join(' or ')}.`));
  };
}

/**
 * Parses `value` with `schema`, or throws a 400 with `code` whose details name each bad field.
 * Routes get this for free; handlers call it for bodies whose shape is known only later.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, code: string, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: FieldIssue[] = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = details[0];
  const where = first && first.field ? ` (${first.field}: ${first.message})` : first ? ` (${first.message})` : '';
  throw badRequest(code, `${what} is invalid${where}.`, details);
}

/** JSON Schema for a zod schema, as OpenAPI 3.1 embeds it. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): object {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  return rest;
}

function operation(path: string, spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined>): object {
  const parameters: object[] = [...path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (spec.query) {
    const q = jsonSchema(spec.query, 'input') as { properties?: Record<string, object>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
  }
  const responses: Record<string, object> = {};
  const all: Record<number, ResponseSpec> = { ...spec.responses };
  if (!spec.anonymous) all[401] ??= { description: 'No caller identity.', schema: ErrorBody };
  if (spec.body) all[400] ??= { description: 'The body is invalid.', schema: ErrorBody };
  for (const [status, r] of Object.entries(all)) {
    responses[status] = r.schema
      ? { description: r.description, content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } } }
      : { description: r.description };
  }
  const requestBody = spec.body
    ? { required: !spec.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } }
    : spec.rawBody
      ? { required: true, description: spec.rawBody.description, content: spec.rawBody.content }
      : undefined;
  return {
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
    ...(spec.anonymous ? { security: [] } : {}),
  };
}

/** The body of every error response. */
export const ErrorBody = z.object({
  error: z.string().describe('Stable machine-readable code, e.g. ROUND_NOT_FOUND.'),
  message: z.string().describe('What went wrong and what to do about it.'),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** A documented error response: its description names the codes a client may see. */
export const errorResponse = (description: string): ResponseSpec => ({ description, schema: ErrorBody });

const joinPath = (prefix: string, path: string) => prefix + (path === '/' ? '' : path) || '/';
const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');
