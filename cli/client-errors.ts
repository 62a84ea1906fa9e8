import { AttestationError } from '../attestation';
import { ClientError } from '../client';
import { UsageError } from './usage-error';

/**
 * Sorts a failure of `attest` or `call`: a server refused as untrustworthy (a bad document, none
 * at all, a key no document vouches for) is returned, for exit status 1; any other client problem
 * (bad URL, unreachable, timeout) becomes a UsageError, exit status 2; anything else is rethrown.
 */
export function refusalOf(error: unknown): AttestationError | ClientError {
  if (error instanceof AttestationError && error.code !== 'BAD_POLICY') return error;
  if (error instanceof ClientError && error.code === 'NO_ATTESTATION') return error;
  if (error instanceof AttestationError || error instanceof ClientError) throw new UsageError(error.message);
  // Node's own connection errors (ECONNREFUSED, ECONNRESET, ...): I/O, so exit status 2. Matched by
  // shape, since errors made inside Node's core need not be instances of this realm's Error.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && typeof message === 'string') throw new UsageError(`The connection failed: ${message}.`);
  throw error;
}
