import type { RequestListener } from 'node:http';
import type { EgressTarget } from './allowlist';
import type { Identity } from './identity';
import type { Logger } from './log';
import type { ResultSigner } from './signed-result';

/**
 * What the enclave's app host hands the app it serves, besides the app's own configuration
 * block: the parts of the deployment configuration an app may act on, already validated and
 * measured into PCR16 with the rest.
 */
export interface AppContext {
  /** Every caller the deployment lets in (users and peer enclaves), with its role. */
  callers: readonly Identity[];
  /** Where the app may connect: the egress allowlist, exact host and port. */
  outbound: readonly EgressTarget[];
  /** Request-size limits of the deployment (`limits` in the configuration), defaults applied. */
  limits: { jsonBodyBytes: number };
  /** JSON lines to the supervisor's log; never give it bodies or secrets. */
  log: Logger;
  /**
   * Signs final results with the instance's results key, which every attestation document of the
   * instance binds: a party can show the JWS to anyone (`cloister verify-result`).
   */
  results: ResultSigner;
}

/** Anything with zod's `safeParse`: how an app declares and checks its configuration block. */
export interface ConfigSchema<Config> {
  safeParse(input: unknown): { success: true; data: Config } | { success: false; error: { issues: readonly ConfigIssue[] } };
}

/** One problem in an app's configuration block, as zod reports it. */
export interface ConfigIssue {
  path: readonly PropertyKey[];
  message: string;
}

/** The default export of an app module: builds the request listener (an Express app is one). */
export type AppFactory<Config = unknown> = (config: Config, context: AppContext) => RequestListener;

/**
 * The shape of a module the app host loads by path: `export default` the factory, and
 * `export const configSchema` to have the host validate the configuration's `apps` block (unknown
 * keys refused when the schema is strict) before the factory sees it. Without a schema the app
 * must not be given an `apps` block.
 */
export interface AppModule<Config = unknown> {
  default: AppFactory<Config>;
  configSchema?: ConfigSchema<Config>;
}

/** The default for `limits.jsonBodyBytes`. */
export const DEFAULT_JSON_BODY_BYTES = 1 << 20;

/**
 * The environment variable that tells an app given as a command where to serve HTTP:
 * `unix:///path/app.sock` or `tcp://127.0.0.1:PORT`, nothing else.
 */
export const LISTEN_ENV = 'CLOISTER_LISTEN';

/** The environment variable that hands an app given as a command its `apps` block, as JSON. */
export const APP_CONFIG_ENV = 'CLOISTER_APP_CONFIG';
