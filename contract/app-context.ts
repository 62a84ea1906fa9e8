import { type AppContext, type AppModule, DEFAULT_JSON_BODY_BYTES } from './app-host';
import { ConfigError, type RuntimeConfig, knownCallers } from './config';
import { type Logger, withMinimumLevel } from './log';
import type { ResultSigner } from './signed-result';

/**
 * What `require` gave for an app module, as an AppModule: compiled from `export default` it has a
 * `default`; plain CommonJS may export the factory itself, with `configSchema` as its property.
 * Throws when there is nothing to call.
 */
export function appModuleOf(loaded: unknown, path: string): AppModule {
  const module = (
    typeof loaded === 'function' ? { default: loaded, configSchema: (loaded as Partial<AppModule>).configSchema } : (loaded ?? {})
  ) as Partial<AppModule>;
  if (typeof module.default !== 'function') {
    throw new TypeError(`${path} has no default export to call; export default a function (config, context) => http.RequestListener`);
  }
  return module as AppModule;
}

/**
 * The parts of the validated deployment configuration an app acts on, defaults applied. The app's
 * `log` drops entries below `logging.level` where they are made, so that a line nobody will keep
 * costs the app no write and the supervisor no read.
 */
export function appContextOf(config: RuntimeConfig, log: Logger, results: ResultSigner): AppContext {
  return {
    callers: knownCallers(config),
    outbound: (config.outbound ?? []).map(({ host, port }) => ({ host, port })),
    limits: { jsonBodyBytes: config.limits?.jsonBodyBytes ?? DEFAULT_JSON_BODY_BYTES },
    log: withMinimumLevel(config.logging?.level ?? 'info', log),
    results,
  };
}

/**
 * The app's own block (`apps:`), checked by the schema the module declares. An app without a
 * schema takes no block: one given to it would be ignored, which an operator must hear about.
 * Throws ConfigError naming each bad field under `apps`.
 */
export function appConfigOf(module: Pick<AppModule, 'configSchema'>, config: RuntimeConfig): unknown {
  const block = config.apps;
  if (module.configSchema === undefined) {
    if (block !== undefined && Object.keys(block).length > 0) {
      throw new ConfigError([{ field: 'apps', message: 'this app declares no configuration (no configSchema export); remove the block' }]);
    }
    return {};
  }
  const result = module.configSchema.safeParse(block ?? {});
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => ({ field: ['apps', ...issue.path.map(String)].join('.'), message: issue.message })));
}
