import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type RuntimeConfig, parseConfig } from './config';
import { configDigest } from './config-digest';
import { readBounded } from './read-bounded';

/** Largest configuration file accepted. */
const MAX_CONFIG_BYTES = 1 << 20;

/** A validated runtime configuration and the digest that PCR16 and every attestation carry. */
export interface LoadedConfig {
  config: RuntimeConfig;
  /** The configuration as written (parsed, before defaults), which the digest covers. */
  document: unknown;
  /** SHA-384 of the RFC 8785 canonical JSON of `document`. */
  digest: Buffer;
}

/**
 * Parses configuration text (JSON, or YAML for `.yaml`/`.yml` or when `format` says so),
 * validates it, and computes its digest. Bad input is a ConfigError naming the field or line.
 */
export function parseConfigText(text: string, format: 'json' | 'yaml'): LoadedConfig {
  let document: unknown;
  try {
    document = format === 'yaml' ? parseYaml(text, { maxAliasCount: 100, uniqueKeys: true }) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError([{ field: '', message: `not valid ${format.toUpperCase()}: ${(e as Error).message.split('\n')[0]}` }]);
  }
  return { config: parseConfig(document), document, digest: configDigest(document) };
}

/** Reads and validates a configuration file; I/O problems are ConfigErrors too, naming the file. */
export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    // Read no further than the limit: a path such as /dev/zero must not fill the memory first.
    text = readBounded(path, MAX_CONFIG_BYTES).toString('utf8');
  } catch (e) {
    throw new ConfigError([{ field: '', message: `cannot read ${path}: ${(e as Error).message}` }]);
  }
  return parseConfigText(text, ['.yaml', '.yml'].includes(extname(path).toLowerCase()) ? 'yaml' : 'json');
}
