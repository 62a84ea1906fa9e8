import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { attest } from '../client/attest';
import { generateIdentity, loadIdentity } from '../client/identity';
import { parsePolicy } from '../client/policy';
import { scratch } from './ingress-servers';

/**
 * Keep-alive `GET /hello` at 50 concurrent connections, (a) the app directly over plain HTTP,
 * (b) through the ingress (TLS, client certificate, header injection), (c) through bridge and
 * ingress; and the cost of a new client (TLS handshake, attestation, verification). Servers run
 * in their own processes, as in an enclave; this process is the load generator for all three,
 * so the ratios compare like with like. Budget (DESIGN.md): (c) at least 0.8 of (a).
 */
const CONNECTIONS = 50;
const WARMUP_MS = 1_000;
/** DESIGN.md: bridge + ingress reach at least this share of the app's direct throughput. */
const BUDGET_RATIO = 0.8;
const DURATION_MS = 5_000;
const NEW_CLIENTS = 30;

const children: ChildProcess[] = [];

function start(...args: string[]): Promise<string> {
  const child = spawn(process.execPath, [join(__dirname, 'ingress-servers.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { address: string }).address));
  });
}

async function load(origin: string, pool: Pool, headers: Record<string, string>): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const started = performance.now();
      const { statusCode, body } = await pool.request({ origin, path: '/hello', method: 'GET', headers });
      await body.text();
      if (statusCode !== 200) throw new Error(`GET /hello answered ${statusCode}`);
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  const workers = Array.from({ length: CONNECTIONS }, worker);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  measuring = true;
  const began = performance.now();
  await new Promise((r) => setTimeout(r, DURATION_MS));
  measuring = false;
  const elapsed = performance.now() - began;
  stop = true;
  await Promise.all(workers);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rps: latencies.length / (elapsed / 1000), p50: at(0.5), p99: at(0.99) };
}

async function main(): Promise<void> {
  const dir = scratch();
  const alice = await generateIdentity('alice', join(dir, 'alice'));
  const config = { users: [{ name: 'alice', role: 'member', key: alice.keyLine }] };
  const identity = loadIdentity(join(dir, 'alice'));
  const tlsClient = { key: identity.keyPem, cert: identity.certPem, rejectUnauthorized: false };

  const direct = await start('app', 'tcp://127.0.0.1:0', JSON.stringify(config));
  const app = await start('app', `unix://${join(dir, 'app.sock')}`, JSON.stringify(config));
  const ingress = await start('ingress', 'tcp://127.0.0.1:0', app, JSON.stringify(config), join(dir, 'nsm'));
  const bridge = await start('bridge', 'tcp://127.0.0.1:0', ingress);
  const origin = (address: string, scheme: string) => `${scheme}://${address.replace(/^tcp:/, '')}`;

  const cases: [string, string, Pool, Record<string, string>][] = [
    [
      '(a) app directly, plain HTTP',
      origin(direct, 'http'),
      new Pool(origin(direct, 'http'), { connections: CONNECTIONS }),
      { 'x-oblv-user-name': 'alice', 'x-oblv-user-role': 'member' },
    ],
    ['(b) ingress (TLS + client cert)', origin(ingress, 'https'), new Pool(origin(ingress, 'https'), { connections: CONNECTIONS, connect: tlsClient }), {}],
    ['(c) bridge + ingress', origin(bridge, 'https'), new Pool(origin(bridge, 'https'), { connections: CONNECTIONS, connect: tlsClient }), {}],
  ];
  console.log(
    `ingress: keep-alive GET /hello, ${CONNECTIONS} connections, ${DURATION_MS / 1000} s each after ${WARMUP_MS / 1000} s warm-up; Node ${process.version}`,
  );
  console.log('case                               req/s      p50 ms   p99 ms   vs (a)');
  let baseline = 0;
  let throughBridge = 0;
  for (const [name, url, pool, headers] of cases) {
    const r = await load(url, pool, headers);
    baseline ||= r.rps;
    throughBridge = r.rps / baseline;
    console.log(
      `${name.padEnd(35)}${r.rps.toFixed(0).padStart(6)}   ${r.p50.toFixed(2).padStart(6)}   ${r.p99.toFixed(2).padStart(6)}   ${(r.rps / baseline).toFixed(2)}x`,
    );
    await pool.close();
  }

  // The bench's development NSM measures nothing, so its documents read as debug mode: PCR0 is zero.
  const policy = parsePolicy({ root: join(dir, 'nsm', 'root', 'cert.pem'), pcrs: { 0: ['00'.repeat(48)] }, maxAgeSeconds: 300, allowDebug: true }, dir);
  const started = performance.now();
  for (let i = 0; i < NEW_CLIENTS; i++) await attest(origin(bridge, 'https'), policy);
  console.log(
    `new client through bridge + ingress (TLS handshake + attestation + verification): ${((performance.now() - started) / NEW_CLIENTS).toFixed(1)} ms each, ${NEW_CLIENTS} clients`,
  );
  console.log(`budget (DESIGN.md): (c) at least ${BUDGET_RATIO}x of (a): ${throughBridge.toFixed(2)}x, ${throughBridge >= BUDGET_RATIO ? 'met' : 'NOT met'}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
  });
