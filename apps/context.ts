import type { RuntimeConfig } from '../contract/config';
import type { Logger } from './log';

/** What every example app is built from: the validated configuration and the shared services. */
export interface AppContext {
  config: RuntimeConfig;
  log: Logger;
  /** Default limit for JSON request bodies, from `limits.jsonBodyBytes`. */
  jsonLimitBytes: number;
}
