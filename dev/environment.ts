import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DevPki, DevPkiError } from '../attestation/dev';
import { ClientError } from '../client/errors';
import { IDENTITY_FILES, generateIdentity, loadIdentity } from '../client/identity';
import { appConfigOf, appModuleOf } from '../contract/app-context';
import type { AppModule } from '../contract/app-host';
import { CodedError } from '../contract/coded-error';
import { ConfigError } from '../contract/config';
import { pcr16For } from '../contract/config-digest';
import { loadConfigFile } from '../contract/load-config';
import type { HostedApp } from '../enclave/hosted-app';
import { type LocalStack, startLocalStack } from './local/local-stack';
import { type DevelopmentPcrs, developmentPcrs } from './local/measurements';

/** The user's files (the development directory, the configuration, the app module) cannot be used as they are. */
export class DevEnvironmentError extends CodedError<'DEV_ENVIRONMENT_INVALID'> {
  constructor(message: string) {
    super('DEV_ENVIRONMENT_INVALID', message);
  }
}

/** The users of the sample configuration, each with a key generated on first run. */
export const DEV_USERS = ['alice', 'bob', 'carol'] as const;
/** One of the sample users. */
export type DevUser = (typeof DEV_USERS)[number];
const DEV_ROLE = 'member';
/** Where local mode keeps its state unless told otherwise (`--dir`). */
export const DEFAULT_DEV_DIR = '.cloister/dev';
/** The bridge's port on 127.0.0.1 unless told otherwise (`--port`). */
export const DEFAULT_DEV_PORT = 8443;
/** The built code this module belongs to (dist/): what the supervisor runs and PCR0 measures. */
export const CODE_DIR = resolve(__dirname, '..');
/** What `cloister dev` serves unless told otherwise: the example apps, as one app module. */
export const EXAMPLES_APP: HostedApp = { kind: 'module', path: join(CODE_DIR, 'examples', 'index.js') };

/** Everything a local-mode client needs, as prepared under the development directory. */
export interface DevEnvironment {
  dir: string;
  /** The app the stack serves. */
  app: HostedApp;
  /** The development root certificate clients pin (policy.json names it). */
  rootPath: string;
  /** SHA-256 of the root certificate's DER, hex: to recognise it at a glance. */
  rootSha256: string;
  configPath: string;
  /** SHA-384 of the configuration, hex. */
  configDigest: string;
  pcrs: DevelopmentPcrs & { 16: string };
  /** The client policy trusting exactly this stack. */
  policyPath: string;
  /** Identity directory of each sample user. */
  users: Record<DevUser, string>;
  /** Sample users whose key the configuration does not list (it was edited, or the keys were replaced). */
  unconfiguredUsers: DevUser[];
}

/**
 * Prepares `dir` for local mode: the development NSM's root (created once, then reused), keys of
 * alice, bob and carol under `users/` (generated on first run, never replaced), a sample
 * configuration `config.json` (written once, so edits stay) unless `configPath` names another,
 * and `policy.json`, rewritten every time since PCR0 measures the current build.
 */
export async function prepareDevEnvironment(dir: string, configPath?: string, app: HostedApp = EXAMPLES_APP): Promise<DevEnvironment> {
  try {
    return await prepare(resolve(dir), configPath, app);
  } catch (e) {
    // A corrupt root, a damaged key or a bad configuration: the user's files to fix, named in the message.
    if (e instanceof ConfigError) throw new DevEnvironmentError(`${configPath ?? join(dir, 'config.json')}: ${e.message}`);
    if (e instanceof ClientError || e instanceof DevPkiError) throw new DevEnvironmentError(e.message);
    throw e;
  }
}

async function prepare(dir: string, configPath: string | undefined, app: HostedApp): Promise<DevEnvironment> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki = await DevPki.open({ dir });

  const users = {} as DevEnvironment['users'];
  const keys = new Map<string, string>();
  for (const name of DEV_USERS) {
    const userDir = join(dir, 'users', name);
    users[name] = userDir;
    const existing = existsSync(join(userDir, IDENTITY_FILES.key)) || existsSync(join(userDir, IDENTITY_FILES.cert));
    keys.set(name, existing ? loadIdentity(userDir).keyDigest : (await generateIdentity(name, userDir)).keyLine);
  }

  const config = resolve(configPath ?? join(dir, 'config.json'));
  if (configPath === undefined && !existsSync(config)) writeAtomically(config, `${JSON.stringify(sampleConfig(keys, app), null, 2)}\n`);
  const loaded = loadConfigFile(config);
  if (app.kind === 'module') appConfigOf(loadAppModule(app.path), loaded.config);
  const { digest } = loaded;
  const configuredKeys = new Set(loaded.config.users.map((u) => u.key));
  const unconfiguredUsers = DEV_USERS.filter((name) => !configuredKeys.has(keys.get(name)!));

  const pcrs = { ...developmentPcrs(CODE_DIR, app), 16: pcr16For(digest).toString('hex') };
  const policyPath = join(dir, 'policy.json');
  const policy = {
    // Relative to the policy file, as client policies read it: the directory may move.
    root: relative(dir, pki.rootCertificatePath),
    pcrs: { 0: [pcrs[0]], 1: [pcrs[1]], 2: [pcrs[2]], 16: [pcrs[16]] },
    config: digest.toString('hex'),
    maxAgeSeconds: 300,
    allowDebug: false,
  };
  writeAtomically(policyPath, `${JSON.stringify(policy, null, 2)}\n`);
  const rootSha256 = createHash('sha256').update(pki.rootCertificateDer).digest('hex');
  return {
    dir,
    app,
    rootPath: pki.rootCertificatePath,
    rootSha256,
    configPath: config,
    configDigest: digest.toString('hex'),
    pcrs,
    policyPath,
    users,
    unconfiguredUsers,
  };
}

/**
 * Users alice, bob and carol, all `member`, so that every example app has three participants; the
 * examples' block only when the stack serves them, since another app declares its own.
 */
function sampleConfig(keys: Map<string, string>, app: HostedApp): object {
  return {
    users: DEV_USERS.map((name) => ({ name, role: DEV_ROLE, key: keys.get(name) })),
    outbound: [],
    ...(app === EXAMPLES_APP && { apps: { millionaire: { role: DEV_ROLE }, psi: { role: DEV_ROLE }, stats: { role: DEV_ROLE } } }),
  };
}

/**
 * The app module, loaded here too so that a configuration its schema refuses is reported before
 * anything starts, as any other configuration mistake is.
 */
function loadAppModule(path: string): AppModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return appModuleOf(require(path), path);
  } catch (e) {
    throw new DevEnvironmentError(`--app-module ${path} could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** Starts the local stack on a prepared environment. */
export function startDevStack(env: DevEnvironment, port: number, showLogs: boolean): Promise<LocalStack> {
  return startLocalStack({
    codeDir: CODE_DIR,
    app: env.app,
    configPath: env.configPath,
    devDir: env.dir,
    pcrs: env.pcrs,
    runDir: join(env.dir, 'run'),
    port,
    showLogs,
  });
}
