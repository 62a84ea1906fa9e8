import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../contract/config';
import { jsonLinesLogger } from '../contract/log';
import { NsmError } from '../attestation/nsm/nsm';
import { formatAddress } from '../transport/address';
import { type RunningEnclave, boot } from './boot';
import { type LoadedConfig, parseConfigText } from '../contract/load-config';
import { receiveConfig } from './config-receiver';
import type { Address } from '../transport/address';
import { SupervisorError } from './errors';
import { openNsm } from './open-nsm';
import { type SupervisorOptions, parseSupervisorOptions, supervisorHelp } from './options';

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
      jsonLinesLogger({ level: 'info', event: 'stopped', reason: stopRequested });
      process.exit(0);
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
      log: jsonLinesLogger,
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
  jsonLinesLogger({
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
    log: jsonLinesLogger,
    signal,
  });
}

function shutdown(enclave: RunningEnclave, options: SupervisorOptions, reason: string): void {
  jsonLinesLogger({ level: 'info', event: 'stopping', reason });
  enclave.close(options.graceMs).then(
    () => {
      if (options.readyFile) rmSync(options.readyFile, { force: true });
      jsonLinesLogger({ level: 'info', event: 'stopped' });
      process.exit(0);
    },
    (e: unknown) => fail(e),
  );
}

function fail(error: unknown): never {
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
  process.exit(status);
}

void main();
