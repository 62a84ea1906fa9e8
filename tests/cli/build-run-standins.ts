import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Stand-ins for `docker`, `nitro-cli` and the three parent-side programs, for testing
 * `cloister build` and `cloister run` where neither tool exists. Each appends one JSON line per
 * invocation (and per lifecycle event) to `$STANDIN_LOG`, refuses arguments the real tool would
 * not get from Cloister (exit 1), and prints the output documented for the real tool.
 */

/** The PCRs the nitro-cli stand-in reports (96 hex digits each, upper case as nitro-cli prints them). */
export const STANDIN_PCRS = {
  PCR0: 'A1'.repeat(48),
  PCR1: 'B2'.repeat(48),
  PCR2: 'C3'.repeat(48),
};
export const STANDIN_ENCLAVE_ID = 'i-abc12345def67890a-enc9876abcd543210ef12';

/** One line of the stand-ins' log. */
export interface StandInEntry {
  tool: string;
  argv: string[];
  event?: string;
  env?: Record<string, string | undefined>;
  pid?: number;
}

export function readLog(log: string): StandInEntry[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StandInEntry);
}

const DOCKER = String.raw`
const fs = require('fs');
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify({ tool: 'docker', argv, env: { SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH } }) + '\n');
const refuse = (why) => { process.stderr.write('docker stand-in: ' + why + '\n'); process.exit(1); };
if (argv[0] !== 'build') refuse('expected "build", got ' + argv[0]);
let tag, file, context;
for (let i = 1; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--tag') tag = argv[++i];
  else if (a === '--file') file = argv[++i];
  else if (a === '--build-arg') { if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[++i] || '')) refuse('bad --build-arg ' + argv[i]); }
  else if (a.startsWith('-')) refuse('unexpected option ' + a);
  else if (context === undefined) context = a;
  else refuse('a second context ' + a);
}
if (!tag || !file || !context) refuse('need --tag, --file and a context');
if (!fs.existsSync(file)) refuse('no Dockerfile at ' + file);
if (process.env.STANDIN_FAIL === 'docker') { process.stderr.write('ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1\n'); process.exit(1); }
process.stderr.write('#1 [internal] load build definition from Dockerfile\n');
process.stdout.write('naming to docker.io/library/' + tag + ' done\n');
`;

const NITRO = String.raw`
const fs = require('fs');
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify({ tool: 'nitro-cli', argv }) + '\n');
const refuse = (why) => { process.stderr.write('nitro-cli stand-in: ' + why + '\n'); process.exit(1); };
const [command, ...rest] = argv;
const options = {};
const flags = { 'build-enclave': ['--docker-uri', '--output-file'], 'run-enclave': ['--eif-path', '--cpu-count', '--memory', '--enclave-cid'], 'terminate-enclave': ['--enclave-id'] }[command];
if (!flags) refuse('unexpected command ' + command);
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (command === 'run-enclave' && a === '--debug-mode') { options[a] = true; continue; }
  if (!flags.includes(a)) refuse('unexpected option ' + a + ' for ' + command);
  if (rest[i + 1] === undefined) refuse(a + ' needs a value');
  options[a] = rest[++i];
}
for (const f of flags) if (options[f] === undefined) refuse(command + ' needs ' + f);
if (process.env.STANDIN_FAIL === command) { process.stderr.write('[ E26 ] Insufficient memory requested. User provided memory is 64 MiB, but 512 MiB are needed.\n'); process.exit(1); }
const json = (o) => process.stdout.write(JSON.stringify(o, null, 2) + '\n');
if (command === 'build-enclave') {
  fs.writeFileSync(options['--output-file'], 'EIF stand-in for ' + options['--docker-uri'] + '\n');
  process.stderr.write('Start building the Enclave Image...\nEnclave Image successfully created.\n');
  json({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...JSON.parse(process.env.STANDIN_PCRS) } });
} else if (command === 'run-enclave') {
  if (!fs.existsSync(options['--eif-path'])) refuse('no EIF at ' + options['--eif-path']);
  const cid = Number(options['--enclave-cid']);
  process.stderr.write('Start allocating memory...\nStarted enclave with enclave-cid: ' + cid + ', memory: ' + options['--memory'] + ' MiB, cpu-ids: [1, 3]\n');
  json({ EnclaveName: 'cloister', EnclaveID: process.env.STANDIN_ENCLAVE_ID, ProcessID: 4242, EnclaveCID: cid, NumberOfCPUs: Number(options['--cpu-count']), CPUIDs: [1, 3], MemoryMiB: Number(options['--memory']) });
} else {
  if (options['--enclave-id'] !== process.env.STANDIN_ENCLAVE_ID) refuse('no such enclave ' + options['--enclave-id']);
  process.stdout.write('Successfully terminated enclave ' + options['--enclave-id'] + '.\n');
  json({ EnclaveID: options['--enclave-id'], Terminated: true });
}
`;

/** A parent-side program: logs its start and stop, stays up until SIGTERM/SIGINT (or dies when told). */
const PARENT = (name: string) => String.raw`
const fs = require('fs');
const log = (event) => fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify({ tool: ${JSON.stringify(name)}, argv: process.argv.slice(2), event, pid: process.pid }) + '\n');
log('started');
process.stdout.write(${JSON.stringify(name)} + ' stand-in up\n');
const stop = (signal) => { log('stopped by ' + signal); process.exit(0); };
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
setInterval(() => {}, 1000);
if (process.env.STANDIN_DIE === ${JSON.stringify(name)}) setTimeout(() => { log('died'); process.exit(3); }, 300);
`;

/**
 * Writes the stand-ins under `dir`: `dir/bin/docker`, `dir/bin/nitro-cli` (put `dir/bin` first on
 * PATH) and `dir/proxy/{bridge/main.js, egress/relay-main.js, config-push/main.js}` (CLOISTER_PROXY_DIR).
 */
export function writeStandIns(dir: string): { bin: string; proxy: string; env: Record<string, string> } {
  const bin = join(dir, 'bin');
  const proxy = join(dir, 'proxy');
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of [['docker', DOCKER], ['nitro-cli', NITRO]] as const) {
    writeFileSync(join(bin, name), `#!${process.execPath}\n${body}`);
    chmodSync(join(bin, name), 0o755);
  }
  for (const [path, name] of [['bridge/main.js', 'bridge'], ['egress/relay-main.js', 'egress-relay'], ['config-push/main.js', 'config-push']] as const) {
    mkdirSync(join(proxy, path, '..'), { recursive: true });
    writeFileSync(join(proxy, path), PARENT(name));
  }
  return {
    bin,
    proxy,
    env: { STANDIN_PCRS: JSON.stringify(STANDIN_PCRS), STANDIN_ENCLAVE_ID, STANDIN_LOG: join(dir, 'standins.log') },
  };
}
