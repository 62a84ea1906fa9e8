import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AttestationError, type TrustedRoot, awsNitroRoot, rootFromPem } from '../attestation';
import { configDigest } from '../contract/config-digest';
import { normalizePcrs } from '../attestation/policy';
import { InputTooLargeError, readBounded, sizeText } from '../contract/read-bounded';

/** What a client trusts: the verified form of a client policy file (DESIGN.md, "Client policy"). */
export interface ClientPolicy {
  /** The root the document's chain must lead to: `awsNitroRoot()`, or a development root. */
  root: TrustedRoot;
  /** Accepted values per PCR index, lower-case hex; at least one PCR, or any enclave would pass. */
  pcrs: Record<string, string[]>;
  /** The configuration digest (48 bytes) the document's `user_data` must bind; absent: any. */
  configDigest?: Buffer;
  /** Documents older than this are refused, and a verified key is trusted for new connections this long. */
  maxAgeMs: number;
  /** Accept debug-mode enclaves, whose memory the host can read. */
  allowDebug: boolean;
}

const FIELDS = ['root', 'pcrs', 'config', 'maxAgeSeconds', 'allowDebug'];
const DEFAULT_MAX_AGE_SECONDS = 300;
const CONFIG_DIGEST_HEX = /^[0-9a-fA-F]{96}$/;
/** The most a policy file, or a root or configuration file it names, may be: each is a few KiB. */
export const MAX_FILE_BYTES = 1 << 20;

/**
 * Reads a client policy file (JSON). Paths inside it (the root PEM, a config file) are relative
 * to the file. Any problem is an `AttestationError('BAD_POLICY')` naming the file and the field.
 *
 * @example
 * // policy.json: {"root": "aws", "pcrs": {"0": ["<96 hex>"]}, "config": "cloister.config.yaml"}
 * const policy = loadPolicy('policy.json');
 * const server = await attest('https://enclave.example', policy);
 */
export function loadPolicy(path: string): ClientPolicy {
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    throw badPolicy(path, (e as Error).message);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badPolicy(path, `not valid JSON: ${(e as Error).message}`);
  }
  return parsePolicy(value, dirname(resolve(path)), path);
}

/**
 * Checks a parsed client policy and resolves it: reads the root certificate and digests the
 * configuration file when given as paths (relative to `baseDir`). Unknown fields are refused, so a
 * misspelt field never silently loosens the policy. `source` names the policy in error messages.
 *
 * @example
 * const policy = parsePolicy({ root: 'dev-root.pem', pcrs: { 0: pcr0 }, maxAgeSeconds: 60 }, '/etc/cloister');
 * policy.maxAgeMs; // 60000
 */
export function parsePolicy(json: unknown, baseDir: string, source?: string): ClientPolicy {
  const fail = (what: string) => badPolicy(source, what);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('it must be a JSON object');
  const fields = json as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.includes(key)) throw fail(`unknown field "${key}" (the fields are ${FIELDS.join(', ')})`);
  }

  const maxAgeSeconds = fields.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (typeof maxAgeSeconds !== 'number' || !Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw fail('"maxAgeSeconds" must be a positive number of seconds');
  }
  const allowDebug = fields.allowDebug ?? false;
  if (typeof allowDebug !== 'boolean') throw fail('"allowDebug" must be true or false');

  const policy: ClientPolicy = {
    root: readRoot(fields.root, baseDir, fail),
    pcrs: readPcrs(fields.pcrs, fail),
    maxAgeMs: maxAgeSeconds * 1000,
    allowDebug,
  };
  if (fields.config !== undefined) policy.configDigest = readConfigDigest(fields.config, baseDir, fail);
  return policy;
}

type Fail = (what: string) => AttestationError;

function readRoot(root: unknown, baseDir: string, fail: Fail): TrustedRoot {
  if (typeof root !== 'string' || root === '') throw fail('"root" must be "aws" or the path of a PEM root certificate');
  if (root === 'aws') return awsNitroRoot();
  const path = resolve(baseDir, root);
  let pem: string;
  try {
    pem = readText(path);
  } catch (e) {
    throw fail(`"root": ${(e as Error).message}`);
  }
  try {
    return rootFromPem(pem);
  } catch {
    throw fail(`"root": ${path} is not a PEM certificate`);
  }
}

function readPcrs(pcrs: unknown, fail: Fail): Record<string, string[]> {
  if (typeof pcrs !== 'object' || pcrs === null || Array.isArray(pcrs)) {
    throw fail('"pcrs" must be an object of PCR index to accepted hex values, e.g. {"0": ["<96 hex digits>"]}');
  }
  const entries = Object.entries(pcrs);
  // Without a PCR, any enclave under the root passes: someone else's code would be trusted.
  if (entries.length === 0) throw fail('"pcrs" names no PCR, so any enclave would be accepted; list at least PCR0');
  for (const [index, values] of entries) {
    const list = typeof values === 'string' ? [values] : values;
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      throw fail(`"pcrs"."${index}" must be a hex string or an array of them`);
    }
  }
  try {
    const normalized = normalizePcrs(pcrs as Record<string, string | string[]>);
    return Object.fromEntries([...normalized].map(([index, values]) => [String(index), values]));
  } catch (e) {
    throw fail(`"pcrs": ${(e as Error).message.replace(/^The verification policy is invalid: /, '').replace(/\.$/, '')}`);
  }
}

function readConfigDigest(config: unknown, baseDir: string, fail: Fail): Buffer {
  if (typeof config !== 'string' || config === '') {
    throw fail('"config" must be a configuration digest (96 hex digits) or the path of a configuration file');
  }
  if (CONFIG_DIGEST_HEX.test(config)) return Buffer.from(config, 'hex');
  const path = resolve(baseDir, config);
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    throw fail(`"config": ${(e as Error).message}`);
  }
  const yaml = ['.yaml', '.yml'].includes(extname(path).toLowerCase());
  let document: unknown;
  try {
    // The enclave parses YAML with these options (enclave/config); the digest covers the parsed document.
    document = yaml ? parseYaml(text, { maxAliasCount: 100, uniqueKeys: true }) : JSON.parse(text);
  } catch (e) {
    throw fail(`"config": ${path} is not valid ${yaml ? 'YAML' : 'JSON'} (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    return configDigest(document);
  } catch (e) {
    throw fail(`"config": ${path}: ${(e as Error).message}`);
  }
}

function readText(path: string): string {
  try {
    return readBounded(path, MAX_FILE_BYTES).toString('utf8');
  } catch (e) {
    if (e instanceof InputTooLargeError)
      throw new Error(`${path} is larger than ${sizeText(MAX_FILE_BYTES)}, the most a policy, root or configuration file may be`);
    throw new Error(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

const badPolicy = (source: string | undefined, what: string) =>
  new AttestationError('BAD_POLICY', `The client policy${source === undefined ? '' : ` ${source}`} is invalid: ${what}.`);
