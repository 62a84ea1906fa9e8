import { CodedError } from '../../contract/coded-error';

/**
 * Why the persistent development root cannot be used. The root is what developers pin, so any
 * doubt about it stops the development NSM rather than quietly minting a different one.
 */
export type DevPkiErrorCode =
  /** The root's files exist but could not be read (permissions, I/O). */
  | 'ROOT_UNREADABLE'
  /** A new root could not be written to the directory. */
  | 'ROOT_UNWRITABLE'
  /** The root's files are incomplete, unparsable, or do not form a P-384 self-signed CA with its key. */
  | 'ROOT_CORRUPT'
  /** The root is not yet valid, has expired, or expires too soon to issue the intermediates. */
  | 'ROOT_EXPIRED';

/** A refusal to use the persistent development root: a stable code and what to do about it. */
export class DevPkiError extends CodedError<DevPkiErrorCode> {}
