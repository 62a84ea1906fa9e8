import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { appConfigOf, appModuleOf } from '../contract/app-context';
import type { AppModule } from '../contract/app-host';
import { ConfigError } from '../contract/config';
import { pcr16For } from '../contract/config-digest';
import { DevPki, DevPkiError } from '../attestation/dev';
import { ClientError } from '../client/errors';
import { IDENTITY_FILES, generateIdentity, loadIdentity } from '../client/identity';
import { loadConfigFile } from '../contract/load-config';
import { LocalStackError } from '../dev/local/errors';
import { type LocalStack, startLocalStack } from '../dev/local/local-stack';
import { formatAddress } from '../transport/address';
import { type DevelopmentPcrs, developmentPcrs } from '../dev/local/measurements';
import type { HostedApp } from '../enclave/hosted-app';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

/** The users of the sample configuration, each with a key generated on first run. */
export const DEV_USERS = ['alice', 'bob', 'carol'] as const;
/** One of the sample users. */
export type DevUser = (typeof DEV_USERS)[number];
const DEV_ROLE = 'member';
/** Where local mode keeps its state unless told otherwise (`--dir`). */
export const DEFAULT_DEV_DIR = '.cloister/dev';
/** The bridge's port on 127.0.0.1 unless told otherwise (`--port`). */
export const DEFAULT_DEV_PORT = 8443;
/** The built code this command belongs to (dist/): what the supervisor runs and PCR0 measures. */
const CODE_DIR = resolve(__dirname, '..');
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
    if (e instanceof ConfigError) throw new UsageError(`${configPath ?? join(dir, 'config.json')}: ${e.message}`);
    if (e instanceof ClientError || e instanceof DevPkiError) throw new UsageError(e.message);
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
  return { dir, app, rootPath: pki.rootCertificatePath, rootSha256, configPath: config, configDigest: digest.toString('hex'), pcrs, policyPath, users, unconfiguredUsers };
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
    throw new UsageError(`--app-module ${path} could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** Starts the local stack on a prepared environment; a busy port is a usage error. */
export async function startDevStack(env: DevEnvironment, port: number, showLogs: boolean): Promise<LocalStack> {
  try {
    return await startLocalStack({
      codeDir: CODE_DIR,
      app: env.app,
      configPath: env.configPath,
      devDir: env.dir,
      pcrs: env.pcrs,
      runDir: join(env.dir, 'run'),
      port,
      showLogs,
    });
  } catch (e) {
    if (e instanceof LocalStackError && e.code === 'PORT_BUSY') throw new UsageError(e.message);
    throw e;
  }
}

interface DevFlags {
  appModule?: string;
  dir: string;
  port: string;
  config?: string;
  quiet?: boolean;
}

/** `cloister dev`: the whole local stack, until Ctrl-C. */
export function registerDev(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('dev')
    .description('Run the whole local stack: supervisor with your app (or the example apps) and the development NSM, and a bridge on 127.0.0.1.')
    .argument('[command...]', 'the app as a command serving HTTP on $CLOISTER_LISTEN, after "--" (instead of --app-module)')
    .option('--app-module <file>', 'the app: a module whose default export is (config, context) => http.RequestListener (default: the example apps)')
    .option('--dir <dir>', 'development directory: NSM root, user keys, config, policy', DEFAULT_DEV_DIR)
    .option('--port <port>', 'TCP port of the bridge on 127.0.0.1', String(DEFAULT_DEV_PORT))
    .option('--config <file>', 'runtime configuration to run (default: <dir>/config.json, created on first run)')
    .option('--quiet', 'do not show the processes’ request logs')
    .action(async (command: string[], flags: DevFlags) => exit(await runDev(hostedApp(flags.appModule, command), flags, io)));
}

function hostedApp(modulePath: string | undefined, command: string[]): HostedApp {
  if (modulePath !== undefined && command.length > 0) throw new UsageError('Give either --app-module or a command after "--", not both.');
  if (modulePath !== undefined) {
    const path = resolve(modulePath);
    if (!existsSync(path)) throw new UsageError(`--app-module ${modulePath}: no such file (build the app first?).`);
    return { kind: 'module', path };
  }
  return command.length > 0 ? { kind: 'command', argv: command } : EXAMPLES_APP;
}

async function runDev(app: HostedApp, flags: DevFlags, io: CliIo): Promise<number> {
  const port = Number(flags.port);
  if (!/^\d{1,5}$/.test(flags.port) || port < 1 || port > 65_535) throw new UsageError(`--port ${flags.port} is not a TCP port (1 to 65535).`);
  const env = await prepareDevEnvironment(flags.dir, flags.config, app);
  for (const name of env.unconfiguredUsers) {
    // Otherwise calls as this user would get 401s with no hint why.
    io.stderr(`cloister dev: warning: ${name}'s key (${display(env.users[name])}) is not in ${display(env.configPath)}; calls as ${name} get no identity.\n`);
  }

  // Listening before anything starts: a signal that arrives at any point, even between the banner
  // and the wait below, stops the stack instead of killing this process and orphaning it.
  let onSignal: (signal: string) => void = () => {};
  const signalled = new Promise<string>((resolve) => (onSignal = resolve));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let stack: LocalStack;
    try {
      stack = await startDevStack(env, port, !flags.quiet);
    } catch (e) {
      if (!(e instanceof LocalStackError) || e.code !== 'PROCESS_FAILED') throw e;
      io.stderr(`cloister dev: ${e.message}\n`);
      return 1;
    }
    io.stdout(banner(env, stack));
    const outcome = await Promise.race([signalled.then((signal) => ({ signal })), stack.failed.then((failure) => ({ failure }))]);
    if ('failure' in outcome) io.stderr(`cloister dev: ${outcome.failure}\nStopping the rest of the stack.\n`);
    else io.stdout(`\n${outcome.signal}: stopping the local stack…\n`);
    await stack.stop();
    return 'failure' in outcome ? 1 : 0;
  } finally {
    // Removed only once the stack has stopped: a second Ctrl-C must not kill this process mid-way.
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Paths under the working directory as typed there (`.cloister/dev/…`), others in full. */
function display(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown === '' ? '.' : shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}

function banner(env: DevEnvironment, stack: LocalStack): string {
  const policy = display(env.policyPath);
  return [
    '',
    'Cloister local stack: the enclave’s processes on this machine, with the development NSM (not a Nitro Enclave).',
    '',
    `  URL            ${stack.url}`,
    `  processes      bridge 127.0.0.1:${new URL(stack.url).port} → supervisor: ingress ${formatAddress(stack.ingress)} → app (its child, own socket)`,
    `  dev root       ${display(env.rootPath)} (sha256 ${env.rootSha256})`,
    `  PCR0           ${env.pcrs[0]}  (SHA-384 of the built code in ${display(CODE_DIR)}/)`,
    `  PCR1           ${env.pcrs[1]}  (development constant)`,
    `  PCR2           ${env.pcrs[2]}  (the app: ${env.app.kind === 'module' ? 'its module and the files beside it' : 'its command'})`,
    `  PCR16          ${env.pcrs[16]}  (the configuration, locked at boot)`,
    `  config         ${display(env.configPath)}`,
    `  config digest  ${env.configDigest}`,
    `  policy         ${policy}`,
    `  users          ${DEV_USERS.join(', ')} (keys in ${display(join(env.dir, 'users'))}/<name>)`,
    '',
    'From another shell:',
    `  npx cloister call ${stack.url}/hello --identity ${display(env.users.alice)} --policy ${policy}`,
    `  npx cloister attest ${stack.url} --policy ${policy}`,
    '  npm run demo',
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}
