import { CodedError } from '../contract/coded-error';

/** Why the supervisor refused to boot or stopped. */
export type SupervisorErrorCode =
  /** A flag or environment variable is missing or malformed. */
  | 'INVALID_OPTION'
  /** PCR16 already holds (or is locked with) something other than this configuration's digest. */
  | 'PCR16_CONFLICT'
  /** The app process did not become ready. */
  | 'APP_START_FAILED'
  /** The app's own schema refused its block of the configuration (`apps`). */
  | 'APP_CONFIG_INVALID';

/** A refusal of the supervisor, with the exit status it maps to. */
export class SupervisorError extends CodedError<SupervisorErrorCode> {
  /** 2 for a usage mistake, 1 for a refusal (DESIGN.md's exit statuses). */
  get exitStatus(): 1 | 2 {
    return this.code === 'INVALID_OPTION' || this.code === 'APP_CONFIG_INVALID' ? 2 : 1;
  }
}
