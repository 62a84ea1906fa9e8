import type { RequestListener } from 'node:http';
import { appConfigOf, appContextOf, appModuleOf } from '../../contract/app-context';
import type { AppFactory, AppModule } from '../../contract/app-host';
import { parseConfig } from '../../contract/config';
import { type Logger, jsonLinesLogger } from '../../contract/log';
import type { ResultSigner } from '../../contract/signed-result';
import { testResultSigner } from './test-result-signer';

/** How `hostApp` builds the app. */
export interface HostAppOptions {
  /** Where the app's log lines go (default: JSON lines on stdout). */
  log?: Logger;
  /** What signs the app's results (default: `testResultSigner()`, a fresh key no enclave vouches for). */
  results?: ResultSigner;
}

/**
 * Builds an app module's request listener from a whole deployment configuration, exactly as the
 * enclave's app host does: the configuration is validated, the `apps` block checked with the
 * module's `configSchema`, and the factory called with that block and the context. A bad
 * configuration throws `ConfigError` naming each field, as the enclave would refuse it.
 *
 * @example
 * import * as app from '../src/app';
 * const { as } = await serve(hostApp(app, { users: [{ name: 'alice', role: 'analyst', key: 'sha256:…' }] }));
 */
export function hostApp<Config>(module: AppModule<Config> | AppFactory<Config>, config: unknown, options: HostAppOptions = {}): RequestListener {
  const loaded = appModuleOf(module, 'the app module') as AppModule<Config>;
  const runtime = parseConfig(config);
  return loaded.default(appConfigOf(loaded, runtime) as Config, appContextOf(runtime, options.log ?? jsonLinesLogger, options.results ?? testResultSigner()));
}
