import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../contract/config';
import { loadConfigFile } from '../contract/load-config';
import { ToolError, parseToolJson, runTool } from '../image/run-tool';
import type { CliIo } from './io';
import { UsageError } from './usage-error';
import { resolve } from 'node:path';
import { parentDir, parentProcesses, supervise } from '../parent/supervisor';

export const RUN_DEFAULTS = { cpus: 2, memory: 2048, cid: 16, port: 443 } as const;

/** The settings of one `cloister run`, after flags, `--from` and defaults. */
export interface RunSettings {
  eif: string;
  config: string;
  cpus: number;
  memory: number;
  cid: number;
  port: number;
  debugMode: boolean;
}

interface RunFlags {
  eif?: string;
  config?: string;
  cpus?: string;
  memory?: string;
  cid?: string;
  from?: string;
  port?: string;
  debugMode?: boolean;
}

/** The keys a `--from` file may carry: ours, and nitro-cli's own run-enclave config names. */
const FROM_KEYS: Record<string, keyof RunSettings> = {
  eif: 'eif',
  eif_path: 'eif',
  config: 'config',
  cpus: 'cpus',
  cpu_count: 'cpus',
  memory: 'memory',
  memory_mib: 'memory',
  cid: 'cid',
  enclave_cid: 'cid',
  port: 'port',
  debugMode: 'debugMode',
  debug_mode: 'debugMode',
};

/** `cloister run`: the enclave with nitro-cli, and the log sink, bridge, egress relay and config push next to it. */
export function registerRun(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('run')
    .description(
      'On the parent instance: start the enclave (nitro-cli run-enclave), then the log sink (vsock 3:5003 → standard output), ' +
        'the bridge (tcp:PORT → vsock CID:5000), the egress relay (vsock 3:5001) and the config push (vsock CID:5002); ' +
        'stop them all together on SIGINT/SIGTERM or when one stops.',
    )
    .option('--eif <file>', 'the enclave image file (from cloister build)')
    .option('--config <file>', 'the runtime configuration (JSON or YAML) pushed to the enclave and enforced by the egress relay')
    .option('--cpus <n>', `vCPUs for the enclave (default ${RUN_DEFAULTS.cpus})`)
    .option('--memory <MiB>', `memory for the enclave in MiB (default ${RUN_DEFAULTS.memory})`)
    .option('--cid <n>', `the enclave's vsock CID (default ${RUN_DEFAULTS.cid})`)
    .option(
      '--from <file>',
      'a JSON file with any of eif, config, cpus, memory, cid, port, debugMode (or nitro-cli names: eif_path, cpu_count, memory_mib, enclave_cid, debug_mode); flags win',
    )
    .option('--port <port>', `the TCP port the bridge listens on (default ${RUN_DEFAULTS.port})`)
    .option('--debug-mode', 'start the enclave in debug mode (console readable, PCRs all zero: clients refuse it unless allowDebug)')
    .action(async (flags: RunFlags) => {
      exit(await run(resolveSettings(flags), io));
    });
}

/** Flags over `--from` over defaults, each checked. */
export function resolveSettings(flags: RunFlags): RunSettings {
  const file: Partial<Record<keyof RunSettings, unknown>> = {};
  if (flags.from !== undefined) {
    let document: unknown;
    try {
      document = JSON.parse(readFileSync(flags.from, 'utf8'));
    } catch (e) {
      throw new UsageError(`--from ${flags.from}: ${(e as Error).message}`);
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new UsageError(`--from ${flags.from} is not a JSON object.`);
    for (const [key, value] of Object.entries(document)) {
      const setting = FROM_KEYS[key];
      if (!setting) throw new UsageError(`--from ${flags.from}: unknown key "${key}" (known: ${Object.keys(FROM_KEYS).join(', ')}).`);
      file[setting] = value;
    }
  }
  const pick = (flag: string | undefined, key: keyof RunSettings) => flag ?? (file[key] === undefined ? undefined : String(file[key]));
  const eif = pick(flags.eif, 'eif');
  const config = pick(flags.config, 'config');
  if (!eif) throw new UsageError('--eif FILE is required (or "eif" in --from).');
  if (!config) throw new UsageError('--config FILE is required (or "config" in --from).');
  if (!existsSync(eif)) throw new UsageError(`--eif ${eif}: no such file.`);
  const fileDebug = file.debugMode;
  if (fileDebug !== undefined && typeof fileDebug !== 'boolean') throw new UsageError('"debugMode" in --from must be true or false.');
  return {
    eif: resolve(eif),
    config: resolve(config),
    cpus: integer('--cpus', pick(flags.cpus, 'cpus'), RUN_DEFAULTS.cpus, 1, 1024),
    memory: integer('--memory', pick(flags.memory, 'memory'), RUN_DEFAULTS.memory, 64, 1 << 24),
    cid: integer('--cid', pick(flags.cid, 'cid'), RUN_DEFAULTS.cid, 4, 0xfffffffe),
    port: integer('--port', pick(flags.port, 'port'), RUN_DEFAULTS.port, 1, 65535),
    debugMode: flags.debugMode ?? fileDebug ?? false,
  };
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} ${value} is not a whole number from ${min} to ${max}.`);
  return n;
}

/** What `nitro-cli run-enclave` reports about the enclave it started. */
export interface StartedEnclave {
  EnclaveID: string;
  EnclaveCID: number;
  [key: string]: unknown;
}

async function run(settings: RunSettings, io: CliIo): Promise<number> {
  let digest: string;
  try {
    digest = loadConfigFile(settings.config).digest.toString('hex');
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`${settings.config}: ${e.message}`);
    throw e;
  }
  const dir = parentDir();
  for (const p of parentProcesses(settings, settings.cid, dir)) {
    if (!existsSync(p.script)) throw new UsageError(`the ${p.name} program ${p.script} is missing (run npm run build, or set CLOISTER_PARENT_DIR).`);
  }

  const nitroArgs = [
    'run-enclave',
    '--eif-path',
    settings.eif,
    '--cpu-count',
    String(settings.cpus),
    '--memory',
    String(settings.memory),
    '--enclave-cid',
    String(settings.cid),
    ...(settings.debugMode ? ['--debug-mode'] : []),
  ];
  if (settings.debugMode)
    io.stderr("cloister run: WARNING: debug mode: the enclave's PCRs read as zero and clients refuse it unless their policy allows debug.\n");
  let enclave: StartedEnclave;
  try {
    io.stderr(`cloister run: nitro-cli ${nitroArgs.join(' ')}\n`);
    const { stdout } = await runTool('nitro-cli', nitroArgs);
    enclave = readStartedEnclave(parseToolJson('nitro-cli run-enclave', stdout));
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    io.stderr(`cloister run: ${e.message}\n`);
    return e.exitCode;
  }
  io.stdout(
    `enclave ${enclave.EnclaveID} CID ${enclave.EnclaveCID}` +
      `${typeof enclave.NumberOfCPUs === 'number' ? `, ${enclave.NumberOfCPUs} vCPUs` : ''}` +
      `${typeof enclave.MemoryMiB === 'number' ? `, ${enclave.MemoryMiB} MiB` : ''}\n` +
      `config  ${settings.config} (digest ${digest})\n`,
  );

  const processes = parentProcesses(settings, enclave.EnclaveCID, dir);
  let status = await supervise(processes, io);
  const terminateArgs = ['terminate-enclave', '--enclave-id', enclave.EnclaveID];
  try {
    io.stderr(`cloister run: nitro-cli ${terminateArgs.join(' ')}\n`);
    await runTool('nitro-cli', terminateArgs);
    io.stdout(`terminated enclave ${enclave.EnclaveID}\n`);
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    io.stderr(`cloister run: ${e.message}\n`);
    status = Math.max(status, 1);
  }
  return status;
}

function readStartedEnclave(output: unknown): StartedEnclave {
  const o = output as Partial<StartedEnclave> | null;
  if (typeof o?.EnclaveID !== 'string' || o.EnclaveID === '' || typeof o.EnclaveCID !== 'number') {
    throw new ToolError(`nitro-cli run-enclave printed no EnclaveID and EnclaveCID: ${JSON.stringify(output)}`, 1);
  }
  return o as StartedEnclave;
}
