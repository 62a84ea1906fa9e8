import { CodedError } from '../../contract/coded-error';

/** Why the local stack did not start or stopped. */
export type LocalStackErrorCode =
  /** The bridge's port is taken (often by another `cloister dev`). */
  | 'PORT_BUSY'
  /** The supervisor or the bridge exited, or did not become ready in time. */
  | 'PROCESS_FAILED';

/** A failure of the local stack; `PORT_BUSY` is a usage error (exit 2), the rest exit 1. */
export class LocalStackError extends CodedError<LocalStackErrorCode> {}
