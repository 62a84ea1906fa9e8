/** One problem with one field of a request, as reported in a 400 body's `details`. */
export interface FieldIssue {
  /** Dotted path to the offending field (`participants.2`), or `""` for the body itself. */
  field: string;
  message: string;
}

/**
 * An error that becomes an HTTP response: a status, a stable machine code and a sentence a person
 * can act on. Handlers throw these; the JSON error handler renders `{error, message, details?}`.
 * The message is sent to the client, so it must never contain a secret or a submitted value.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: FieldIssue[],
    /** Response headers that belong to the answer, e.g. `Retry-After` on a 429. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (code: string, message: string, details?: FieldIssue[]) => new HttpError(400, code, message, details);
export const unauthorized = (message: string) => new HttpError(401, 'UNAUTHENTICATED', message);
export const forbidden = (code: string, message: string) => new HttpError(403, code, message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);
export const conflict = (code: string, message: string) => new HttpError(409, code, message);
export const tooLarge = (code: string, message: string) => new HttpError(413, code, message);
/** A limit that frees up with time: 429, and `Retry-After` says when (whole seconds, at least 1). */
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(429, code, message, undefined, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
