import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Stand-ins for `docker`, `nitro-cli` and the three parent-side programs, for testing
 * `cloister build` and `cloister run` without an engine or nitro-cli. The docker stand-in's
 * "image" of a build context is that context's files, so an EIF made from it changes with them. Each appends one JSON line per
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
const path = require('path');
const { execFileSync } = require('child_process');
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify({ tool: 'docker', argv, env: { SOURCE_DATE_EPOCH: process.env.SOURCE_DATE_EPOCH } }) + '\n');
const refuse = (why) => { process.stderr.write('docker stand-in: ' + why + '\n'); process.exit(1); };
const state = process.env.STANDIN_STATE;
const images = path.join(state, 'images.json');
const load = () => (fs.existsSync(images) ? JSON.parse(fs.readFileSync(images, 'utf8')) : {});
const save = (all) => fs.writeFileSync(images, JSON.stringify(all));
const crypto = require('crypto');
const idOf = (text) => 'sha256:' + crypto.createHash('sha256').update(text).digest('hex');
const [command, ...rest] = argv;
if (command === 'build') {
  let tag, file, context;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--tag') tag = rest[++i];
    else if (a === '--file') file = rest[++i];
    else if (a === '--network') { if (rest[++i] !== 'none') refuse('unexpected network ' + rest[i]); }
    else if (a === '--no-cache') {}
    else if (a === '--build-arg') { if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[++i] || '')) refuse('bad --build-arg ' + rest[i]); }
    else if (a.startsWith('-')) refuse('unexpected option ' + a);
    else if (context === undefined) context = a;
    else refuse('a second context ' + a);
  }
  if (!tag || !file || !context) refuse('need --tag, --file and a context');
  if (!fs.existsSync(file)) refuse('no Dockerfile at ' + file);
  if (process.env.STANDIN_FAIL === 'docker') { process.stderr.write('ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1\n'); process.exit(1); }
  process.stderr.write('#1 [internal] load build definition from Dockerfile\n');
  // The image's file system is the context itself, as a COPY . / would make it.
  const all = load();
  const config = process.env.STANDIN_NO_COMMAND ? { Cmd: null, Entrypoint: null, Env: ['PATH=/usr/bin'] } : { Cmd: null, Entrypoint: ['/usr/local/bin/node', '/app/dist/enclave/main.js'], Env: ['PATH=/usr/local/bin:/usr/bin', 'NODE_ENV=production'] };
  all[tag] = { context: path.resolve(context), config, id: idOf(tag + context + JSON.stringify(config)) };
  save(all);
  process.stdout.write('naming to docker.io/library/' + tag + ' done\n');
} else if (command === 'image' && rest[0] === 'inspect') {
  const ref = rest[rest.length - 1];
  const image = load()[ref] || Object.values(load()).find((i) => i.id === ref);
  if (!image) { process.stderr.write('Error: No such image: ' + ref + '\n'); process.exit(1); }
  if (rest[1] === '--format') process.stdout.write(image.id + '\n');
  else process.stdout.write(JSON.stringify([{ Id: image.id, Config: image.config }]) + '\n');
} else if (command === 'tag') {
  const all = load();
  const image = Object.values(all).find((i) => i.id === rest[0]);
  if (!image) refuse('no image ' + rest[0]);
  all[rest[1]] = image;
  save(all);
} else if (command === 'create') {
  if (rest[0] !== '--network' || rest[1] !== 'none' || rest[2] !== '--') refuse('create without --network none --');
  const image = load()[rest[3]];
  if (!image) refuse('no image ' + rest[3]);
  const id = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(path.join(state, id), image.context);
  process.stdout.write(id + '\n');
} else if (command === 'export') {
  if (rest[0] !== '--output') refuse('export without --output');
  const context = fs.readFileSync(path.join(state, rest[2]), 'utf8');
  execFileSync('tar', ['--create', '--format=pax', '--file', rest[1], '--exclude=./node_modules', '--exclude=./.git', '--exclude=./dist', '--exclude=./.cloister', '-C', context, '.']);
} else if (command === 'rm') {
  fs.rmSync(path.join(state, rest[1]));
} else {
  refuse('unexpected command ' + command);
}
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
// The handlers come before the 'started' line: a test that sees it may signal at once.
const stop = (signal) => { log('stopped by ' + signal); process.exit(0); };
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
log('started');
process.stdout.write(${JSON.stringify(name)} + ' stand-in up\n');
setInterval(() => {}, 1000);
if (process.env.STANDIN_DIE === ${JSON.stringify(name)}) setTimeout(() => { log('died'); process.exit(3); }, 300);
`;

/**
 * Writes the stand-ins under `dir`: `dir/bin/docker` (its images in `dir/docker-state`), `dir/bin/nitro-cli` (put `dir/bin` first on
 * PATH) and `dir/parent/{bridge/main.js, egress-relay/main.js, config-push/main.js, log-sink/main.js}` (CLOISTER_PARENT_DIR).
 */
export function writeStandIns(dir: string): { bin: string; parent: string; env: Record<string, string> } {
  const bin = join(dir, 'bin');
  const parent = join(dir, 'parent');
  const state = join(dir, 'docker-state');
  mkdirSync(bin, { recursive: true });
  mkdirSync(state, { recursive: true });
  for (const [name, body] of [
    ['docker', DOCKER],
    ['nitro-cli', NITRO],
  ] as const) {
    writeFileSync(join(bin, name), `#!${process.execPath}\n${body}`);
    chmodSync(join(bin, name), 0o755);
  }
  for (const [path, name] of [
    ['bridge/main.js', 'bridge'],
    ['egress-relay/main.js', 'egress-relay'],
    ['config-push/main.js', 'config-push'],
    ['log-sink/main.js', 'log-sink'],
  ] as const) {
    mkdirSync(join(parent, path, '..'), { recursive: true });
    writeFileSync(join(parent, path), PARENT(name));
  }
  return {
    bin,
    parent,
    env: { STANDIN_PCRS: JSON.stringify(STANDIN_PCRS), STANDIN_ENCLAVE_ID, STANDIN_LOG: join(dir, 'standins.log'), STANDIN_STATE: state },
  };
}
