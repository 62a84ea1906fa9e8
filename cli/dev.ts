import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import {
  CODE_DIR,
  DEV_USERS,
  DEFAULT_DEV_DIR,
  DEFAULT_DEV_PORT,
  type DevEnvironment,
  DevEnvironmentError,
  EXAMPLES_APP,
  prepareDevEnvironment,
  startDevStack,
} from '../dev/environment';
import { DevDirBusyError, lockDevDir } from '../dev/dev-dir-lock';
import { LocalStackError } from '../dev/local/errors';
import type { LocalStack } from '../dev/local/local-stack';
import type { HostedApp } from '../enclave/hosted-app';
import { formatAddress } from '../transport/address';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

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

/** The environment for `cloister dev`, its mistakes reported as usage errors naming the file. */
async function prepareForDev(dir: string, configPath: string | undefined, app: HostedApp): Promise<DevEnvironment> {
  try {
    return await prepareDevEnvironment(dir, configPath, app);
  } catch (e) {
    if (e instanceof DevEnvironmentError) throw new UsageError(e.message);
    throw e;
  }
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
  const lock = claimDevDir(flags.dir);
  try {
    return await runDevIn(app, flags, port, io);
  } finally {
    lock.release();
  }
}

function claimDevDir(dir: string): { release(): void } {
  try {
    return lockDevDir(dir);
  } catch (e) {
    if (e instanceof DevDirBusyError) throw new UsageError(e.message);
    throw e;
  }
}

async function runDevIn(app: HostedApp, flags: DevFlags, port: number, io: CliIo): Promise<number> {
  const env = await prepareForDev(flags.dir, flags.config, app);
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
      if (e instanceof LocalStackError && e.code === 'PORT_BUSY') throw new UsageError(e.message);
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
    `  logs           log sink ${formatAddress(stack.logSink)}: the supervisor's, the ingress's and the app's lines, as on the parent`,
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
    ...(env.app === EXAMPLES_APP ? ['  npm run demo'] : []),
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}
