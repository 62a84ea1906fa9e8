import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { APP_CONFIG_ENV, LISTEN_ENV } from '../contract/app-host';
import { DEFAULT_EGRESS_RELAY } from './egress/egress';
import { type Address, parseAddress } from '../transport/address';
import { SupervisorError } from './errors';
import type { HostedApp } from './hosted-app';
import { ANY_CID, VSOCK_PORTS, vsockAddress } from '../contract/vsock';
import { DEFAULT_LOG_BUFFER_BYTES } from './logs/log-channel';

/** Everything the supervisor is told at start. */
export interface SupervisorOptions {
  /** The runtime configuration file (JSON or YAML); absent when it is pushed (`configFrom`). */
  config?: string;
  /** Where to wait for the parent's config push instead of reading `config` (see proxy/config-push). */
  configFrom?: Address;
  /** `device`: the real /dev/nsm; `dev`: the development NSM of local mode. */
  nsm: 'device' | 'dev';
  /** Where the development NSM keeps its root (`--nsm dev` only). */
  devDir: string;
  /** Development boot measurements of PCRs 0–2, hex (`--nsm dev` only). */
  pcrs: Record<number, string>;
  /** Where the ingress listens. */
  ingress: Address;
  /** The app to serve: `--app-module FILE`, or the command after `--`. */
  hostedApp: HostedApp;
  /** Where the app listens; a private temporary directory when absent. */
  app?: Address;
  /** The parent's egress relay, which the egress proxy tunnels allowed connections to. */
  egressRelay: Address;
  /** A file to write the ingress address to once ready, so a parent process can find it. */
  readyFile?: string;
  /** How long in-flight requests may take to finish after SIGTERM. */
  graceMs: number;
  /** The parent's log sink that every log line goes to; absent, they go to standard output. */
  logSink?: Address;
  /** Most bytes of log lines held while the sink is slow or away (`logSink` only). */
  logBufferBytes: number;
}

/** vsock port 5000 on any CID: where the parent's bridge connects inside a Nitro Enclave (DESIGN.md). */
const ENCLAVE_INGRESS = vsockAddress(ANY_CID, VSOCK_PORTS.ingress);

/** The supervisor's flags; each may also come from an environment variable (a flag wins). */
function supervisorCommand(): Command {
  return new Command('node dist/enclave/main.js')
    .description('The Cloister enclave supervisor: measures the configuration, starts the app and the attested ingress.')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .addOption(new Option('--config <file>', 'runtime configuration, JSON or YAML').env('CLOISTER_CONFIG'))
    .addOption(
      new Option('--config-from <address>', 'wait for the configuration pushed to this address (e.g. vsock://4294967295:5002) instead of --config').env(
        'CLOISTER_CONFIG_FROM',
      ),
    )
    .addOption(new Option('--nsm <kind>', 'the Nitro Secure Module').choices(['device', 'dev']).default('device').env('CLOISTER_NSM'))
    .addOption(new Option('--dev-dir <dir>', 'development NSM root directory (--nsm dev)').default('.cloister/dev').env('CLOISTER_DEV_DIR'))
    .addOption(new Option('--pcr0 <hex>', 'development PCR0 (--nsm dev)').env('CLOISTER_PCR0'))
    .addOption(new Option('--pcr1 <hex>', 'development PCR1 (--nsm dev)').env('CLOISTER_PCR1'))
    .addOption(new Option('--pcr2 <hex>', 'development PCR2 (--nsm dev)').env('CLOISTER_PCR2'))
    .addOption(new Option('--ingress <address>', 'where the ingress listens').default(ENCLAVE_INGRESS).env('CLOISTER_INGRESS'))
    .addOption(
      new Option('--app-module <file>', 'the app: a module whose default export is (config, context) => http.RequestListener').env('CLOISTER_APP_MODULE'),
    )
    .addOption(new Option('--app <address>', 'where the app listens: unix:///PATH or tcp://127.0.0.1:PORT').env('CLOISTER_APP'))
    .addOption(new Option('--egress-relay <address>', "the parent's egress relay").default(DEFAULT_EGRESS_RELAY).env('CLOISTER_EGRESS_RELAY'))
    .addOption(new Option('--ready-file <file>', 'write the ingress address here once ready').env('CLOISTER_READY_FILE'))
    .addOption(new Option('--grace-ms <ms>', 'time in-flight requests get after SIGTERM').default('5000').env('CLOISTER_GRACE_MS'))
    .addOption(
      new Option('--log-sink <address>', "send log lines to the parent's log sink (e.g. vsock://3:5003) instead of standard output").env('CLOISTER_LOG_SINK'),
    )
    .addOption(
      new Option('--log-buffer-bytes <n>', 'log lines held while the sink is slow or away; more are dropped and counted')
        .default(String(DEFAULT_LOG_BUFFER_BYTES))
        .env('CLOISTER_LOG_BUFFER_BYTES'),
    )
    .usage('[options] (--app-module <file> | -- <command> [args...])')
    .addHelpText(
      'after',
      `
Instead of --app-module, the app may be a command given after "--" (or in CLOISTER_APP_COMMAND as a
JSON array of strings): it must serve HTTP on the address in ${LISTEN_ENV} and finds its "apps"
configuration block, as JSON, in ${APP_CONFIG_ENV}.`,
    );
}

/** The usage text, for `--help`. */
export function supervisorHelp(): string {
  return supervisorCommand().helpInformation();
}

/**
 * Reads the supervisor's flags (`--config` or CLOISTER_CONFIG, …). Throws
 * `SupervisorError('INVALID_OPTION')` with a message naming the flag.
 */
export function parseSupervisorOptions(argv: string[]): SupervisorOptions {
  const program = supervisorCommand();
  const dashes = argv.indexOf('--');
  const command = dashes < 0 ? undefined : argv.slice(dashes + 1);
  try {
    program.parse(dashes < 0 ? argv : argv.slice(0, dashes), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new SupervisorError('INVALID_OPTION', `${e.message.replace(/^error: /, '')} (see --help)`);
    throw e;
  }

  const flags = program.opts<Record<string, string | undefined>>();
  if (flags.config === undefined && flags.configFrom === undefined) {
    throw new SupervisorError('INVALID_OPTION', "required option '--config <file>' (or '--config-from <address>') not specified (see --help)");
  }
  if (flags.config !== undefined && flags.configFrom !== undefined) {
    throw new SupervisorError('INVALID_OPTION', 'give either --config or --config-from, not both (see --help)');
  }
  const pcrs: Record<number, string> = {};
  for (const index of [0, 1, 2]) {
    const value = flags[`pcr${index}`];
    if (value === undefined) continue;
    if (flags.nsm !== 'dev')
      throw new SupervisorError('INVALID_OPTION', `--pcr${index} sets a development measurement; the device NSM measures the image itself.`);
    if (!/^[0-9a-fA-F]{96}$/.test(value)) throw new SupervisorError('INVALID_OPTION', `--pcr${index} must be 96 hex digits (SHA-384).`);
    pcrs[index] = value.toLowerCase();
  }
  const graceMs = Number(flags.graceMs);
  if (!Number.isInteger(graceMs) || graceMs < 0 || graceMs > 600_000) {
    throw new SupervisorError('INVALID_OPTION', `--grace-ms must be a whole number of milliseconds up to 600000; got "${flags.graceMs}".`);
  }
  const logBufferBytes = Number(flags.logBufferBytes);
  if (!/^[0-9]+$/.test(flags.logBufferBytes!) || logBufferBytes < 1024 || logBufferBytes > 1 << 30) {
    throw new SupervisorError('INVALID_OPTION', `--log-buffer-bytes must be a whole number from 1024 to ${1 << 30}; got "${flags.logBufferBytes}".`);
  }
  return {
    config: flags.config,
    configFrom: flags.configFrom === undefined ? undefined : address('--config-from', flags.configFrom),
    nsm: flags.nsm as 'device' | 'dev',
    devDir: flags.devDir!,
    pcrs,
    ingress: address('--ingress', flags.ingress!),
    app: flags.app === undefined ? undefined : address('--app', flags.app),
    egressRelay: address('--egress-relay', flags.egressRelay!),
    readyFile: flags.readyFile,
    graceMs,
    logSink: flags.logSink === undefined ? undefined : address('--log-sink', flags.logSink),
    logBufferBytes,
    hostedApp: hostedApp(flags.appModule, command),
  };
}

/** Exactly one app: a module path (made absolute here, against the directory the supervisor starts in) or a command. */
function hostedApp(modulePath: string | undefined, commandArgs: string[] | undefined): HostedApp {
  const argv = commandArgs ?? commandFromEnvironment();
  if (argv !== undefined && argv.length === 0)
    throw new SupervisorError('INVALID_OPTION', 'nothing follows "--": name the app\'s command after it (see --help)');
  if (modulePath !== undefined && argv !== undefined)
    throw new SupervisorError('INVALID_OPTION', 'give either --app-module or a command after "--", not both (see --help)');
  if (modulePath !== undefined) return { kind: 'module', path: resolve(modulePath) };
  if (argv !== undefined) return { kind: 'command', argv };
  throw new SupervisorError('INVALID_OPTION', 'name the app this enclave serves: --app-module <file>, or a command after "--" (see --help)');
}

function commandFromEnvironment(): string[] | undefined {
  const text = process.env.CLOISTER_APP_COMMAND;
  if (text === undefined || text === '') return undefined;
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || !argv.every((arg) => typeof arg === 'string')) {
    throw new SupervisorError('INVALID_OPTION', 'CLOISTER_APP_COMMAND must be a JSON array of strings, e.g. ["/usr/local/bin/node", "/app/server.js"]');
  }
  return argv;
}

function address(flag: string, text: string): Address {
  try {
    return parseAddress(text);
  } catch (e) {
    throw new SupervisorError('INVALID_OPTION', `${flag}: ${(e as Error).message}`);
  }
}
