import type { Request, RequestHandler } from 'express';
import { IDENTITY_PATTERN, type Identity, MAX_IDENTITY_CHARS, USER_NAME_HEADER, USER_ROLE_HEADER, isValidIdentityValue } from '../contract/identity';
import { HttpError, forbidden, unauthorized } from './http-error';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `identity()` (and by `requireIdentity`/`requireRole`) when the caller is known. */
      identity?: Identity;
    }
  }
}

export { IDENTITY_PATTERN, type Identity, MAX_IDENTITY_CHARS, USER_NAME_HEADER, USER_ROLE_HEADER, isValidIdentityValue };

/**
 * Reads the caller from the two identity headers. Returns undefined when neither is present;
 * throws a 400 when they are present but unusable (one without the other, repeated, empty, too
 * long or not printable), because a half-formed identity must never be trusted.
 */
export function readIdentity(req: Request): Identity | undefined {
  const name = single(req, USER_NAME_HEADER);
  const role = single(req, USER_ROLE_HEADER);
  if (name === undefined && role === undefined) return undefined;
  if (name === undefined || role === undefined) {
    throw badIdentity(`Both ${USER_NAME_HEADER} and ${USER_ROLE_HEADER} are needed; only one was sent.`);
  }
  return { name, role };
}

function single(req: Request, header: string): string | undefined {
  const values = req.headersDistinct[header.toLowerCase()];
  if (values === undefined) return undefined;
  if (values.length !== 1) throw badIdentity(`${header} was sent ${values.length} times; send it once.`);
  const value = values[0]!;
  if (!isValidIdentityValue(value)) {
    throw badIdentity(`${header} must be 1 to ${MAX_IDENTITY_CHARS} printable ASCII characters without surrounding spaces.`);
  }
  return value;
}

const badIdentity = (message: string) => new HttpError(400, 'BAD_IDENTITY', message);

/**
 * Middleware that sets `req.identity` from `X-OBLV-User-Name` and `X-OBLV-User-Role`, or leaves it
 * undefined for an anonymous caller. Malformed headers are answered with 400.
 *
 * @example
 * app.use(identity());
 * app.get('/me', (req, res) => res.json(req.identity ?? { anonymous: true }));
 */
export function identity(): RequestHandler {
  return (req, _res, next) => {
    req.identity = readIdentity(req);
    next();
  };
}

/**
 * Middleware that lets only identified callers through: 401 `UNAUTHENTICATED` otherwise.
 *
 * @example
 * router.get('/hello', requireIdentity(), (req, res) => res.json({ hello: req.identity!.name }));
 */
export function requireIdentity(): RequestHandler {
  return (req, _res, next) => {
    req.identity = readIdentity(req);
    next(req.identity ? undefined : missingIdentity());
  };
}

/**
 * Middleware that lets through only callers holding one of `roles`: 401 `UNAUTHENTICATED` without
 * an identity, 403 `FORBIDDEN_ROLE` with another role.
 *
 * @example
 * router.post('/bids', requireRole('bidder'), placeBid);
 */
export function requireRole(...roles: string[]): RequestHandler {
  if (roles.length === 0) throw new TypeError('requireRole needs at least one role.');
  return (req, _res, next) => {
    req.identity = readIdentity(req);
    if (!req.identity) return next(missingIdentity());
    if (!roles.includes(req.identity.role)) {
      return next(forbidden('FORBIDDEN_ROLE', `This needs the role ${roles.join(' or ')}; you are ${req.identity.role}.`));
    }
    next();
  };
}

/** The caller's identity inside a handler that runs after `requireIdentity()` or `requireRole()`. */
export function callerOf(req: Request): Identity {
  if (!req.identity) throw missingIdentity();
  return req.identity;
}

const missingIdentity = () => unauthorized('This needs an authenticated caller; connect through the Cloister ingress with a client certificate.');
