import { Command } from 'commander';
import { createHash, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttestedAgent, type AttestedServer, ClientError, type ClientPolicy, attest, loadIdentity, loadPolicy } from '../client';
import { lockDevDir } from './dev-dir-lock';
import { DEFAULT_DEV_DIR, DEFAULT_DEV_PORT, DEV_USERS, type DevUser, prepareDevEnvironment, startDevStack } from './environment';
import type { LocalStack } from './local/local-stack';
import { JsonClient } from './json-client';

/**
 * `npm run demo`: three parties who do not trust each other compute on their joint data through
 * the attested channel. It starts the local stack (or uses the one `npm start` left running on
 * the port), attests the enclave once to show what is verified, then, each party with its own
 * key, plays a millionaires' round and a private set intersection, prints the outcome, and checks
 * the signed result it read with `cloister verify-result`, offline, as anyone it shows it to could.
 *
 *   node dist/dev/demo.js [--port 8443] [--dir .cloister/dev]
 */

/** The CLI of this build, run as a party would run it. */
const CLI = join(__dirname, '..', 'cli', 'index.js');

/** Each party's wealth: sent to the enclave only, never printed, never seen by the others. */
const WEALTH: Record<DevUser, string> = { alice: '1250000', bob: '3100000.75', carol: '2999999.99' };
/** Each party's customer list for the intersection. */
const SETS: Record<DevUser, string[]> = {
  alice: ['ada@example.org', 'grace@example.org', 'linus@example.org', 'margaret@example.org'],
  bob: ['grace@example.org', 'ken@example.org', 'margaret@example.org', 'ada@example.org'],
  carol: ['margaret@example.org', 'ada@example.org', 'dennis@example.org'],
};

/** `node dist/dev/demo.js [--dir DIR] [--port PORT]`, parsed as every other entry point's flags are. */
function demoFlags(): { dir: string; port: string } {
  return new Command('demo')
    .description('Three parties use the example apps through the local attested stack.')
    .option('--dir <dir>', 'development directory', DEFAULT_DEV_DIR)
    .option('--port <port>', 'TCP port of the bridge on 127.0.0.1', String(DEFAULT_DEV_PORT))
    .parse(process.argv)
    .opts<{ dir: string; port: string }>();
}

const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const flags = demoFlags();
  const dir = flags.dir;
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`--port must be a TCP port (1 to 65535).`);
  const url = `https://127.0.0.1:${port}`;
  const policyPath = join(dir, 'policy.json');

  let stack: LocalStack | undefined;
  let lock: { release(): void } | undefined;
  let server = await runningStack(url, policyPath);
  if (server) {
    say(`Using the local stack already running on ${url}.`);
  } else {
    lock = lockDevDir(dir);
    try {
      stack = await startDevStack(await prepareDevEnvironment(dir), port, false);
    } catch (e) {
      lock.release();
      throw e;
    }
    say(`Started the local stack on ${url}.`);
  }
  const stopStack = () => void (stack?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  process.once('SIGINT', stopStack);
  process.once('SIGTERM', stopStack);

  try {
    const policy = loadPolicy(policyPath);
    server ??= await attest(url, policy);
    say();
    say(`Attested ${server.document.moduleId} under ${policyPath}:`);
    const pcrs = server.document.pcrs;
    say(`  code       PCR0 ${pcrs.get(0)?.slice(0, 16)}…, PCR1 and PCR2 as the policy pins them`);
    say(`  config     ${server.configDigest} (PCR16 ${pcrs.get(16)?.slice(0, 16)}…)`);
    say(`  TLS key    the one this connection presented, bound in the document's public_key`);
    await demo(url, dir, policy, policyPath);
  } finally {
    await stack?.stop();
    lock?.release();
  }
}

/**
 * The stack `npm start` runs on this port, attested under the policy it wrote; undefined when
 * nothing listens there. Anything else listening, or a stack of other code, is an error to report.
 */
async function runningStack(url: string, policyPath: string): Promise<AttestedServer | undefined> {
  if (!existsSync(policyPath)) return undefined; // never set up: start one (a busy port is reported then)
  try {
    return await attest(url, loadPolicy(policyPath));
  } catch (e) {
    const refused = e instanceof ClientError && e.code === 'UNREACHABLE' && (e.cause as NodeJS.ErrnoException)?.code === 'ECONNREFUSED';
    if (refused) return undefined;
    throw new Error(
      `Something answers on ${url} but it does not verify under ${policyPath} (${(e as Error).message}). If it is an older cloister dev, stop it and run the demo again.`,
    );
  }
}

async function demo(url: string, dir: string, policy: ClientPolicy, policyPath: string): Promise<void> {
  const agents = DEV_USERS.map((name) => new AttestedAgent({ policy, identity: loadIdentity(join(dir, 'users', name)), keepAlive: true }));
  const as = Object.fromEntries(DEV_USERS.map((name, i) => [name, new JsonClient(url, agents[i]!)])) as Record<DevUser, JsonClient>;
  try {
    say();
    for (const name of DEV_USERS) say(`  ${(await as[name].get<{ message: string }>('/hello')).message}`);
    await millionaire(as, dir, policyPath);
    await psi(as, dir, policyPath);
  } finally {
    for (const agent of agents) agent.destroy();
  }
  say();
  say('Done: every request went over TLS to a key that an attestation document bound to the code and configuration pinned by the policy.');
}

async function millionaire(as: Record<DevUser, JsonClient>, dir: string, policyPath: string): Promise<void> {
  say();
  say('Millionaires: who is richest, without anyone revealing their wealth?');
  const round = `demo-${randomUUID()}`;
  await as.alice.post('/millionaire/rounds', { id: round, participants: [...DEV_USERS] });
  for (const name of DEV_USERS) {
    const { missing } = await as[name].post<{ missing: number }>(`/millionaire/rounds/${round}/wealth`, { wealth: WEALTH[name] });
    say(`  ${name} submitted (${missing === 0 ? 'all in' : `${missing} still to submit`})`);
  }
  const answers = await Promise.all(DEV_USERS.map((name) => as[name].get<{ richest: string[]; jws: string }>(`/millionaire/rounds/${round}/result`)));
  agree('millionaire', answers);
  say(`  everyone reads the same answer: the richest is ${answers[0]!.richest.join(' and ')}`);
  proveResults('millionaire', answers, dir, policyPath);
}

async function psi(as: Record<DevUser, JsonClient>, dir: string, policyPath: string): Promise<void> {
  say();
  say('Private set intersection: which customers do all three share, revealing nothing else?');
  const { id } = await as.alice.post<{ id: string }>('/psi/sessions', { participants: [...DEV_USERS], normalize: { trim: true, caseFold: true } });
  for (const name of DEV_USERS) {
    const { received } = await as[name].post<{ received: number }>(`/psi/sessions/${id}/set`, SETS[name]);
    say(`  ${name} submitted a set of ${received}`);
  }
  const answers = await Promise.all(DEV_USERS.map((name) => as[name].get<{ intersection: string[]; jws: string }>(`/psi/sessions/${id}/result`)));
  agree('psi', answers);
  say(`  everyone reads the same intersection: ${answers[0]!.intersection.join(', ')}`);
  proveResults('psi', answers, dir, policyPath);
  // The signature covers a digest of the list, so the list itself can be shown apart from the JWS.
  const signed = JSON.parse(Buffer.from(answers[0]!.jws.split('.')[1]!, 'base64url').toString()) as { result: { intersectionSha256: string } };
  const digest = createHash('sha256')
    .update(JSON.stringify({ intersection: answers[0]!.intersection }))
    .digest('hex');
  if (digest !== signed.result.intersectionSha256) throw new Error('The intersection read does not hash to the signed intersectionSha256.');
  say(`  and the intersection they read hashes to the signed intersectionSha256 (${digest.slice(0, 16)}…)`);
}

/**
 * Each party keeps the signed result it read and checks it offline with `cloister verify-result`,
 * as anyone they show it to could: the CLI is run as a separate process, with nothing but the
 * file and the policy. The first party's report is shown whole.
 */
function proveResults(what: string, answers: { jws: string }[], dir: string, policyPath: string): void {
  const results = join(dir, 'results');
  mkdirSync(results, { recursive: true });
  say(`  each party checks the signed result offline: cloister verify-result <file> --policy ${policyPath}`);
  DEV_USERS.forEach((name, i) => {
    const file = join(results, `${what}-${name}.jws`);
    writeFileSync(file, `${answers[i]!.jws}\n`);
    const run = spawnSync(process.execPath, [CLI, 'verify-result', file, '--policy', policyPath], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`cloister verify-result refused ${name}'s ${what} result (exit ${run.status}): ${run.stdout}${run.stderr}`);
    if (i === 0) say(run.stdout.trimEnd().replace(/^(?=.)/gm, '    '));
    else say(`    ${name}: ${run.stdout.split('\n')[0]} (${file})`);
  });
}

/** The enclave gives every party the same answer; anything else is a failure of the demo. */
function agree(what: string, answers: unknown[]): void {
  const first = JSON.stringify(answers[0]);
  if (!answers.every((a) => JSON.stringify(a) === first))
    throw new Error(`The parties read different ${what} results: ${answers.map((a) => JSON.stringify(a)).join(' / ')}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
