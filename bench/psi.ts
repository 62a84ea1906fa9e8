/**
 * PSI benchmark: `npm run build && node --expose-gc dist/bench/psi.js [items]`.
 *
 * Two parties with 1,000,000 items each (half of them shared) go through the HTTP layer on
 * 127.0.0.1: create a session, stream each set as text/plain (generated chunk by chunk, never held
 * whole), fetch the intersection. Run twice: one upload after the other, then both at once (the
 * case where the server holds two whole sets). Prints the time of each step, peak RSS and heap
 * (sampled every 50 ms), the longest event-loop stall, and, in the same run, an in-process `Set`
 * intersection of the same items with the ratio between the two.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as examples from '../examples';
import { hostApp } from '../express/testing';
import { silentLogger } from '../express/request-log';

const DEFAULT_ITEMS = 1_000_000;
const LINES_PER_CHUNK = 4_096;

const parties = ['ana', 'ben'] as const;
type Party = (typeof parties)[number];
const user = (name: string) => ({ name, role: 'party', key: `sha256:${createHash('sha256').update(name).digest('hex')}` });

const item = (i: number) => `user${i}@example.org`;

/**
 * The k-th item a party sends: ana has items 0..n-1, ben n/2..3n/2-1, each in a scrambled order
 * (multiplying by a prime coprime with n permutes 0..n-1) so the server cannot benefit from sorted input.
 */
function itemOf(party: Party, k: number, n: number): string {
  const i = (k * 7_919) % n;
  return item(party === 'ana' ? i : i + n / 2);
}

function* body(party: Party, n: number): Generator<Buffer> {
  for (let k = 0; k < n; k += LINES_PER_CHUNK) {
    let text = '';
    for (let j = k; j < Math.min(k + LINES_PER_CHUNK, n); j++) text += `${itemOf(party, j, n)}\n`;
    yield Buffer.from(text);
  }
}

interface Reply {
  status: number;
  body: Buffer;
}

function request(port: number, method: string, path: string, party: Party, send?: { type: string; body: Iterable<Buffer> }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'X-OBLV-User-Name': party, 'X-OBLV-User-Role': 'party' };
    if (send) headers['Content-Type'] = send.type;
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (send) pipeline(Readable.from(send.body, { objectMode: false }), req).catch(reject);
    else req.end();
  });
}

function expectStatus(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: expected ${status}, got ${reply.status} ${reply.body.toString().slice(0, 300)}`);
  return reply;
}

/** Peak RSS and heap while it runs, sampled every 50 ms, and the longest event-loop stall. */
function monitor() {
  const peak = { rss: 0, heapUsed: 0 };
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peak.rss = Math.max(peak.rss, rss);
    peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
  };
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      delay.disable();
      return { ...peak, maxDelayMs: delay.max / 1e6 };
    },
  };
}

const ms = (from: number) => performance.now() - from;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const f = (x: number) => `${x.toFixed(0)} ms`;

async function scenario(port: number, n: number, id: string, concurrent: boolean) {
  const upload = async (party: Party) => {
    const started = performance.now();
    const reply = expectStatus(
      await request(port, 'POST', `/psi/sessions/${id}/set`, party, { type: 'text/plain', body: body(party, n) }),
      201,
      `${party}'s upload`,
    );
    const { received } = JSON.parse(reply.body.toString()) as { received: number };
    if (received !== n) throw new Error(`${party}'s upload: received ${received}, expected ${n}`);
    return ms(started);
  };

  global.gc?.();
  const watch = monitor();
  const started = performance.now();
  const create = JSON.stringify({ id, participants: parties });
  expectStatus(await request(port, 'POST', '/psi/sessions', 'ana', { type: 'application/json', body: [Buffer.from(create)] }), 201, 'create');
  const uploads = concurrent ? await Promise.all(parties.map(upload)) : [await upload('ana'), await upload('ben')];
  const resultStarted = performance.now();
  const result = expectStatus(await request(port, 'GET', `/psi/sessions/${id}/result`, 'ben'), 200, 'result');
  const resultMs = ms(resultStarted);
  const totalMs = ms(started);
  const peaks = watch.stop();
  return { uploads, resultMs, totalMs, peaks, result: result.body };
}

/** The same intersection by function calls on arrays already in memory: the floor for this machine. */
function baseline(n: number): { ms: number; sorted: string[] } {
  const ana = Array.from({ length: n }, (_, k) => itemOf('ana', k, n));
  const ben = Array.from({ length: n }, (_, k) => itemOf('ben', k, n));
  const started = performance.now();
  const set = new Set(ana);
  const sorted = ben.filter((x) => set.has(x)).sort();
  return { ms: ms(started), sorted };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? DEFAULT_ITEMS);
  if (!Number.isInteger(n) || n < 2 || n % 2 !== 0 || n > 5_000_000) throw new Error('items must be an even number from 2 to 5,000,000');
  if (!global.gc) console.log('(run with node --expose-gc for steadier memory figures)');

  const config = { users: parties.map(user), apps: { psi: { role: 'party', maxItems: n } } };
  const server = http.createServer(hostApp(examples, config, { log: silentLogger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  try {
    global.gc?.();
    const idle = process.memoryUsage();
    const runs = [
      { label: 'one after the other', ...(await scenario(port, n, 'bench-sequential', false)) },
      { label: 'both at once', ...(await scenario(port, n, 'bench-concurrent', true)) },
    ];
    global.gc?.();
    const floor = baseline(n);

    const expected = JSON.stringify({ intersection: floor.sorted });
    for (const run of runs) {
      if (run.result.toString() !== expected) throw new Error(`${run.label}: the intersection differs from the in-process one`);
    }

    const count = (x: number) => x.toLocaleString('en');
    console.log(`PSI, 2 parties x ${count(n)} items (${count(n / 2)} shared), text/plain streamed over HTTP on 127.0.0.1`);
    console.log(`idle before: RSS ${mb(idle.rss)}, heap ${mb(idle.heapUsed)}; Node ${process.version}`);
    for (const run of runs) {
      console.log(`\n${run.label}:`);
      console.log(`  uploads        ${run.uploads.map(f).join(' | ')}`);
      console.log(`  result         ${f(run.resultMs)} (${mb(run.result.length)} of JSON)`);
      console.log(`  total          ${f(run.totalMs)}`);
      console.log(`  peak RSS       ${mb(run.peaks.rss)}`);
      console.log(`  peak heap      ${mb(run.peaks.heapUsed)}`);
      console.log(`  max loop stall ${f(run.peaks.maxDelayMs)}`);
      console.log(`  vs in-process  ${(run.totalMs / floor.ms).toFixed(1)}x`);
    }
    console.log(`\nin-process Set intersection + sort of the same arrays: ${f(floor.ms)}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
