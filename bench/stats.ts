/**
 * Quorum statistics benchmark: `npm run build && node dist/bench/stats.js [computations]`.
 *
 * Times whole mean computations among three participants (create, three submissions, the
 * result) three ways in one run: through the local attested stack with the client library (TLS
 * to the enclave-born key, bridge, ingress, app), over plain HTTP to the app on 127.0.0.1 (one
 * keep-alive connection each), and by function calls on the app's own state, printing ratios.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as examples from '../examples';
import { SignedDecimal } from '../examples/decimal';
import { DecimalComputation } from '../examples/stats/computations';
import { hostApp, testResultSigner } from '../express/testing';
import { silentLogger } from '../express/request-log';
import { MEMBER, type Reply, startAttestedStack } from './attested-stack';
import { plainClient } from './plain-client';
import { SUMMARY_HEADER, summary, summaryRow, timeRuns } from './timing';

const DEFAULT_COMPUTATIONS = 300;
const MAX_COMPUTATIONS = 5_000;
/** As in bench/millionaire.ts: the first computations of a fresh stack warm V8 up and are not counted. */
const WARMUP = 300;
const PARTICIPANTS = ['alice', 'bob', 'carol'] as const;
type Participant = (typeof PARTICIPANTS)[number];
/** A request as one of the participants, through the stack or plain HTTP. */
type ParticipantCall = (method: string, path: string, user: Participant, body?: unknown) => Promise<Reply>;
/** Every computation of a run stays live, so the limits are set to hold them all. */
const LIVE = { maxLive: 1_000_000, maxPerCaller: 1_000_000, maxBytes: 2 ** 40, maxBytesPerCaller: 2 ** 40 };

/** Three values whose mean is exact only in decimal arithmetic. */
const valuesOf = (i: number) => [`${i}.1`, `${i}.2`, `${i}.3`];
const meanOf = (i: number) => `${i}.2`;
const signer = testResultSigner();

function expectReply(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) throw new Error(`${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

async function computation(call: ParticipantCall, i: number, prefix: string): Promise<void> {
  const name = `${prefix}-${i}`;
  expectReply(await call('POST', '/stats/computations', 'alice', { name, type: 'mean', participants: PARTICIPANTS, quorum: 3 }), 201, 'create');
  const values = valuesOf(i);
  for (const [k, who] of PARTICIPANTS.entries()) {
    expectReply(await call('POST', `/stats/computations/${name}/submissions`, who, { value: values[k] }), 201, 'submit');
  }
  const { body } = expectReply(await call('GET', `/stats/computations/${name}/result`, 'bob'), 200, 'result');
  if ((body as { result: string }).result !== meanOf(i)) throw new Error(`${name}: wrong mean ${JSON.stringify(body)}`);
}

async function inProcess(i: number): Promise<void> {
  const spec = { name: `p-${i}`, type: 'mean' as const, participants: [...PARTICIPANTS], quorum: 3 };
  const store = new DecimalComputation(spec, signer, 'mean');
  const values = valuesOf(i);
  for (const [k, who] of PARTICIPANTS.entries()) store.submit(who, SignedDecimal.parse(values[k]));
  const { result, jws } = store.result();
  await jws;
  if (result !== meanOf(i)) throw new Error(`in-process ${i}: wrong mean ${JSON.stringify(result)}`);
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? DEFAULT_COMPUTATIONS);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COMPUTATIONS) {
    console.error(`usage: node dist/bench/stats.js [computations: 1 to ${MAX_COMPUTATIONS}, default ${DEFAULT_COMPUTATIONS}]`);
    process.exit(2);
  }
  const apps = { stats: { role: MEMBER, ...LIVE } };

  const stack = await startAttestedStack(apps);
  let attested: number[];
  try {
    attested = await timeRuns(count, WARMUP, (i) => computation((m, p, u, b) => stack.call(m, p, u, b), i, 'attested'));
  } finally {
    await stack.close();
  }

  const users = PARTICIPANTS.map((name) => ({ name, role: MEMBER, key: `sha256:${'0'.repeat(63)}${PARTICIPANTS.indexOf(name)}` }));
  const server = http.createServer(hostApp(examples, { users, apps }, { log: silentLogger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const plain = plainClient((server.address() as AddressInfo).port, MEMBER);
  let overHttp: number[];
  try {
    overHttp = await timeRuns(count, WARMUP, (i) => computation(plain.call, i, 'plain'));
  } finally {
    plain.close();
    server.close();
  }
  const direct = await timeRuns(count, WARMUP, inProcess);

  const [a, h, p] = [summary(attested), summary(overHttp), summary(direct)];
  console.log(`stats: ${count} mean computations (after ${WARMUP} warm-up) of create + 3 submissions + result`);
  console.log(`attested: the local stack (TLS, bridge, ingress, app) with AttestedAgent; HTTP: plain, to the app; Node ${process.version}`);
  console.log(SUMMARY_HEADER);
  console.log(summaryRow('attested', a));
  console.log(summaryRow('HTTP', h));
  console.log(summaryRow('in-process', p));
  console.log(`ratio attested / HTTP: p50 ${(a.p50 / h.p50).toFixed(1)}x; HTTP / in-process: p50 ${(h.p50 / p.p50).toFixed(0)}x`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
