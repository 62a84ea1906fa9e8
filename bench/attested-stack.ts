/**
 * The local attested stack for benchmarks: the supervisor with the example apps and the
 * development NSM, the bridge on 127.0.0.1, and a client per user that attests the stack under its
 * policy and talks to it through TLS with the enclave-born key (AttestedAgent), as a party would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestedAgent, loadIdentity, loadPolicy } from '../client';
import { type DevUser, prepareDevEnvironment, startDevStack } from '../dev/environment';
import { freePort } from '../transport/free-port';

/** The role every user of the development configuration has. */
export const MEMBER = 'member';

export interface Reply {
  status: number;
  body: unknown;
}

export interface AttestedStack {
  /** One request as `user`, its JSON answer parsed; `raw` sends a body as it is, with its type. */
  call(method: string, path: string, user: DevUser, body?: unknown, raw?: { type: string; text: string }): Promise<Reply>;
  /** A request as `user` to write and end yourself (for streamed bodies). */
  request(method: string, path: string, user: DevUser, headers: https.RequestOptions['headers'], onResponse: (res: IncomingMessage) => void): ClientRequest;
  close(): Promise<void>;
}

/** Starts the stack with `apps` as the configuration's app block (the users stay alice, bob and carol). */
export async function startAttestedStack(apps: object): Promise<AttestedStack> {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-bench-'));
  // The first preparation makes the users' keys and the sample configuration; the benchmark's
  // settings then replace its app block, and the second preparation measures that.
  await prepareDevEnvironment(dir);
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), apps }));
  const env = await prepareDevEnvironment(dir);
  const port = await freePort();
  const stack = await startDevStack(env, port, false);
  const policy = loadPolicy(env.policyPath);
  const agents = new Map<DevUser, AttestedAgent>();
  const agentOf = (user: DevUser) => {
    let agent = agents.get(user);
    if (!agent) {
      agent = new AttestedAgent({ policy, identity: loadIdentity(env.users[user]), keepAlive: true, maxSockets: 1 });
      agents.set(user, agent);
    }
    return agent;
  };

  const call: AttestedStack['call'] = (method, path, user, body, raw) =>
    new Promise((resolve, reject) => {
      const payload = raw?.text ?? (body === undefined ? undefined : JSON.stringify(body));
      const headers: https.RequestOptions['headers'] = {};
      if (payload !== undefined) Object.assign(headers, { 'Content-Type': raw?.type ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) });
      const req = https.request(`${stack.url}${path}`, { method, agent: agentOf(user), headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });

  return {
    call,
    request: (method, path, user, headers, onResponse) => https.request(`${stack.url}${path}`, { method, agent: agentOf(user), headers }, onResponse),
    async close() {
      for (const agent of agents.values()) agent.destroy();
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
