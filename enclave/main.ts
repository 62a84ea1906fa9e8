import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../contract/config';
import { type Logger, createLogger } from '../contract/log';
import { NsmError } from '../attestation/nsm/nsm';
import { formatAddress } from '../transport/address';
import { type RunningEnclave, boot } from './boot';
import { type LoadedConfig, parseConfigText } from '../contract/load-config';
import { receiveConfig } from './config-receiver';
import type { Address } from '../transport/address';
import { SupervisorError } from './errors';
import { LogChannel } from './logs/log-channel';
import { openNsm } from './open-nsm';
import { type SupervisorOptions, parseSupervisorOptions, supervisorHelp } from './options';

/** Where every line goes: standard output, or the parent's log sink once `--log-sink` is read. */
let log: Logger = createLogger();
let logChannel: LogChannel | undefined;
/** How long a stopping supervisor waits for its last lines to reach the sink. */
const LOG_FLUSH_MS = 2_000;

/**
 * `node dist/enclave/main.js --config FILE …`: the process an enclave image runs. It boots (see
 * boot.ts), logs one `ready` line with the ingress address (and writes the address to
 * `--ready-file`), then runs until SIGTERM or SIGINT, or until the process that started it over
 * IPC goes away, and shuts down cleanly with status 0. Boot failures exit 2 for a bad flag or
 * configuration (the message names it) and 1 otherwise.
 */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // What follows "--" is the app's command, whose own flags are not the supervisor's.
  const ownFlags = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (ownFlags.includes('--help') || ownFlags.includes('-h')) {
    process.stdout.write(supervisorHelp());
    return;
  }
  let options: SupervisorOptions;
  try {
    options = parseSupervisorOptions(argv);
  } catch (e) {
    return fail(e);
  }

  // Logs are best effort: if whoever reads them is gone (EPIPE), shutting down cleanly matters more.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  if (options.logSink) {
    logChannel = new LogChannel({ sink: options.logSink, maxBufferBytes: options.logBufferBytes });
    log = createLogger({ write: logChannel.write });
  }

  // Listening from the start, so that a stop requested during boot still removes what boot made.
  let enclave: RunningEnclave | undefined;
  let stopRequested: string | undefined;
  const requestStop = (reason: string) => {
    // Ctrl-C in a terminal signals every process of the group, and a parent may send SIGTERM too.
    if (stopRequested !== undefined) return;
    stopRequested = reason;
    if (enclave) shutdown(enclave, options, reason);
    else waiting.abort(new Error(reason)); // still waiting for a pushed configuration
  };
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('disconnect', () => requestStop('parent gone'));

  // With --config-from, the configuration comes from the parent's config push (proxy/config-push).
  const waiting = new AbortController();
  let pushed: LoadedConfig | undefined;
  if (options.configFrom) {
    try {
      pushed = await receivePushedConfig(options.configFrom, waiting.signal);
    } catch (e) {
      if (stopRequested === undefined) return fail(e);
      log({ level: 'info', event: 'stopped', reason: stopRequested });
      return exit(0);
    }
  }

  try {
    enclave = await boot({
      nsm: await openNsm(options),
      configPath: options.config,
      config: pushed,
      ingress: options.ingress,
      app: options.hostedApp,
      appAddress: options.app,
      egressRelay: options.egressRelay,
      log,
    });
  } catch (e) {
    return fail(e);
  }
  if (stopRequested !== undefined) return shutdown(enclave, options, stopRequested);

  const ingress = formatAddress(enclave.ingress);
  if (options.readyFile) {
    // Write then rename, so a process polling for the file never reads half an address.
    writeFileSync(`${options.readyFile}.tmp`, `${ingress}\n`);
    renameSync(`${options.readyFile}.tmp`, options.readyFile);
  }
  log({
    level: 'info',
    event: 'ready',
    ingress,
    app: formatAddress(enclave.app),
    config: enclave.configDigest.toString('hex'),
    pcr16: enclave.pcr16.toString('hex'),
    instance: enclave.instanceId.toString('hex'),
  });
}

/** Waits at `address` for the first pushed configuration that `parseConfigText` accepts (bad ones are refused to the pusher). */
function receivePushedConfig(address: Address, signal: AbortSignal): Promise<LoadedConfig> {
  return receiveConfig({
    listen: address,
    accept: (text, format) => {
      const loaded = parseConfigText(text, format);
      return { value: loaded, digest: loaded.digest.toString('hex') };
    },
    log,
    signal,
  });
}

function shutdown(enclave: RunningEnclave, options: SupervisorOptions, reason: string): void {
  log({ level: 'info', event: 'stopping', reason });
  enclave.close(options.graceMs).then(
    () => {
      if (options.readyFile) rmSync(options.readyFile, { force: true });
      log({ level: 'info', event: 'stopped' });
      exit(0);
    },
    (e: unknown) => fail(e),
  );
}

/** Exits once the last lines have reached the log sink (or after `LOG_FLUSH_MS` if it does not take them). */
function exit(status: number): void {
  if (logChannel === undefined) process.exit(status);
  void logChannel.close(LOG_FLUSH_MS).then(() => process.exit(status));
}

function fail(error: unknown): void {
  let status = 1;
  let message: string;
  if (error instanceof SupervisorError) {
    status = error.exitStatus;
    message = error.message;
  } else if (error instanceof ConfigError) {
    status = 2;
    message = error.message;
  } else if (error instanceof NsmError) {
    message = `NSM ${error.code}: ${error.message}`;
  } else {
    message = error instanceof Error ? error.message : String(error);
  }
  process.stderr.write(`cloister-enclave: ${message}\n`);
  // Outside debug mode an enclave's standard error is read by no one: the sink must hear it too.
  if (logChannel) log({ level: 'error', event: 'failed', reason: message });
  exit(status);
}

void main();
