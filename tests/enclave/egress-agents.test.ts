import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type Agent, type Server as HttpsServer, request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EgressConnectError, httpsEgressAgent } from '../../enclave/egress-agents';
import { type ForwardProxy, startForwardProxy } from '../../enclave/egress/forward-proxy';
import { type Relay, startRelay } from '../../parent/egress-relay/relay';
import { generateP256Key, selfSign } from '../../enclave/ingress/self-signed';
import type { LogEntry } from '../../contract/log';
import type { Address } from '../../transport/address';
import { type TestBuild, buildForTests } from './support/build';

const listen = async (server: Server | HttpsServer): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

/** What every target saw: one entry per request, `name path`. */
const seen: string[] = [];

/** A server on 127.0.0.1 that counts the connections it accepts. */
interface Target {
  server: Server | HttpsServer;
  port: number;
  connections: number;
}

let tmp: string;
let certPem: string;
// One target per kind of client, so that each tunnel in the proxy's log is that client's.
const targets = {} as Record<'http' | 'fetch' | 'https' | 'sdk' | 'supervisor' | 'unlisted', Target>;
let relay: Relay;
let proxy: ForwardProxy;
const proxyLog: LogEntry[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-egress-agents-'));
  const tls = selfSign(await generateP256Key(), { commonName: 'localhost', validityMs: 3_600_000 });
  certPem = tls.certPem;
  const start = async (name: keyof typeof targets, secure: boolean): Promise<void> => {
    const respond = (req: IncomingMessage, res: ServerResponse) => {
      seen.push(`${name} ${req.url}`);
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      // The AWS SDK's GenerateRandom reads Plaintext; the other clients just read the body.
      res.end(req.headers['x-amz-target'] ? JSON.stringify({ Plaintext: Buffer.from('from the target').toString('base64') }) : `${name} ${req.url}`);
    };
    const server = secure ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, respond) : createHttpServer(respond);
    const target: Target = { server, port: 0, connections: 0 };
    server.on(secure ? 'secureConnection' : 'connection', () => target.connections++);
    target.port = await listen(server);
    targets[name] = target;
  };
  await Promise.all([
    start('http', false),
    start('fetch', false),
    start('https', true),
    start('sdk', true),
    start('supervisor', true),
    start('unlisted', false),
  ]);
  const outbound = [
    { host: '127.0.0.1', port: targets.http.port },
    { host: '127.0.0.1', port: targets.fetch.port },
    { host: 'localhost', port: targets.https.port },
    { host: 'localhost', port: targets.sdk.port },
    { host: 'localhost', port: targets.supervisor.port },
  ];
  const relayAddress: Address = { kind: 'unix', path: join(tmp, 'relay.sock') };
  relay = await startRelay({ listen: relayAddress, outbound, log: () => {} });
  proxy = await startForwardProxy({ relay: relayAddress, outbound, log: (e) => proxyLog.push(e) });
});

afterAll(async () => {
  await proxy?.close();
  await relay?.close();
  for (const { server } of Object.values(targets)) {
    server.closeAllConnections();
    server.close();
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** The CONNECT tunnels the proxy opened to `target`. */
const tunnelsTo = (target: Target, since = 0) =>
  proxyLog.slice(since).filter((e) => e.event === 'egress_tunnel' && e.kind === 'connect' && e.port === target.port).length;

function httpsGet(agent: Agent, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: 'localhost', port, path: '/kms', agent, ca: certPem }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject).end();
  });
}

describe("httpsEgressAgent (the supervisor's KMS client)", () => {
  it('tunnels through the egress proxy with CONNECT host:port, TLS end to end to the target', async () => {
    const agent = httpsEgressAgent(proxy.url);
    try {
      const since = proxyLog.length;
      expect(await httpsGet(agent, targets.supervisor.port)).toBe('supervisor /kms');
      expect(tunnelsTo(targets.supervisor, since)).toBe(1);
      expect(targets.supervisor.connections).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("refuses a destination not on the list with EGRESS_REFUSED, the proxy's status and its reason", async () => {
    const agent = httpsEgressAgent(proxy.url);
    try {
      const error = await httpsGet(agent, targets.unlisted.port).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EgressConnectError);
      expect(error).toMatchObject({ code: 'EGRESS_REFUSED', status: 403 });
      expect((error as Error).message).toContain(`localhost:${targets.unlisted.port} is not on this enclave's outbound allowlist`);
      expect(seen).not.toContain('unlisted /kms');
    } finally {
      agent.destroy();
    }
  });

  it('fails with EGRESS_UNAVAILABLE when nothing listens at the proxy address', async () => {
    const closed = createNetServer();
    const port = await listen(closed as unknown as Server);
    await new Promise((r) => closed.close(r));
    const agent = httpsEgressAgent(`http://127.0.0.1:${port}`);
    try {
      await expect(httpsGet(agent, targets.supervisor.port)).rejects.toMatchObject({
        code: 'EGRESS_UNAVAILABLE',
        message: expect.stringMatching(/cannot be reached \(ECONNREFUSED\)/),
      });
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['answers something that is not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', /not HTTP/],
    ['closes without answering', '', /closed the connection before answering/],
    ['answers with an endless head', 'HTTP/1.1 200 OK\r\n' + 'x-pad: y\r\n'.repeat(2_000), /oversized answer/],
  ])('fails with EGRESS_UNAVAILABLE when the proxy %s', async (_case, reply, message) => {
    const fake = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(reply));
    });
    const port = await listen(fake as unknown as Server);
    const agent = httpsEgressAgent(`http://127.0.0.1:${port}`);
    try {
      await expect(httpsGet(agent, targets.supervisor.port)).rejects.toMatchObject({ code: 'EGRESS_UNAVAILABLE', message: expect.stringMatching(message) });
    } finally {
      agent.destroy();
      fake.close();
    }
  });

  it('accepts only an http:// proxy URL', () => {
    expect(() => httpsEgressAgent('socks5://127.0.0.1:1080')).toThrow(/http:\/\//);
  });

  it("changes no other agent: the supervisor's own connections (the ingress's to the app) stay direct", async () => {
    httpsEgressAgent(proxy.url).destroy();
    const status = await new Promise<number>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: targets.unlisted.port, path: '/direct' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
  });
});

/**
 * The app's code, unchanged: plain Node `http`/`https`, `fetch` and the AWS SDK, with no proxy
 * option anywhere. It runs in a child process that first loads the real module host, exactly
 * as the supervisor's fork would, with the environment the supervisor gives the app.
 */
const APP_CODE = `
const appChild = process.argv[2];
require(appChild);
const http = require('node:http');
const https = require('node:https');
const { KMSClient, GenerateRandomCommand } = require('@aws-sdk/client-kms');
const targets = JSON.parse(process.env.TARGETS);

const read = (get) => new Promise((resolve) => {
  get((res) => { let body = ''; res.setEncoding('utf8'); res.on('data', (c) => (body += c)); res.on('end', () => resolve({ status: res.statusCode, body })); })
    .on('error', (e) => resolve({ error: e.code, name: e.name, status: e.status, message: e.message }));
});
const settle = (promise) => promise.then((value) => value, (e) => ({ error: e.name, message: String(e.message), cause: String(e.cause?.message) }));

(async () => {
  const results = {
    http: await read((cb) => http.get('http://127.0.0.1:' + targets.http + '/http-module', cb)),
    httpUnlisted: await read((cb) => http.get('http://127.0.0.1:' + targets.unlisted + '/http-module', cb)),
    https: await read((cb) => https.get('https://localhost:' + targets.https + '/https-module', cb)),
    httpsOwnAgent: await read((cb) => https.get('https://localhost:' + targets.https + '/own-agent', { agent: new https.Agent() }, cb)),
    fetch: await settle(fetch('http://127.0.0.1:' + targets.fetch + '/fetch').then(async (r) => ({ status: r.status, body: await r.text() }))),
    fetchUnlisted: await settle(fetch('http://127.0.0.1:' + targets.unlisted + '/fetch').then((r) => ({ status: r.status }))),
    sdk: await settle(
      new KMSClient({ region: 'eu-west-1', endpoint: 'https://localhost:' + targets.sdk, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 })
        .send(new GenerateRandomCommand({ NumberOfBytes: 15 }))
        .then((r) => ({ plaintext: Buffer.from(r.Plaintext).toString() })),
    ),
  };
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
})();
`;

describe("the app process's egress, with no change to the app's code", () => {
  let build: TestBuild;
  let results: Record<string, Record<string, unknown>>;
  const before = { log: 0, seen: 0 };

  beforeAll(async () => {
    build = buildForTests();
    const script = join(build.dir, 'app-code.js');
    writeFileSync(script, APP_CODE);
    writeFileSync(join(tmp, 'ca.pem'), certPem);
    before.log = proxyLog.length;
    before.seen = seen.length;
    const { HOME, PATH } = process.env;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [script, join(build.dir, 'enclave', 'module-host.js')],
        {
          cwd: build.dir,
          timeout: 60_000,
          env: {
            HOME,
            PATH,
            // What proxyEnvironment() gives the app, and trust in the targets' test certificate.
            HTTP_PROXY: proxy.url,
            HTTPS_PROXY: proxy.url,
            http_proxy: proxy.url,
            https_proxy: proxy.url,
            NO_PROXY: '',
            no_proxy: '',
            NODE_EXTRA_CA_CERTS: join(tmp, 'ca.pem'),
            TARGETS: JSON.stringify(Object.fromEntries(Object.entries(targets).map(([name, t]) => [name, t.port]))),
          },
        },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      ),
    );
    results = JSON.parse(stdout) as typeof results;
  }, 90_000);

  afterAll(() => build?.remove());

  // Every connection a target accepted came through a tunnel: none went around the egress.
  const onlyThroughEgress = (target: Target) => {
    expect(target.connections).toBeGreaterThan(0);
    expect(tunnelsTo(target, before.log)).toBe(target.connections);
  };

  it("Node's http module reaches a listed server through the egress (a CONNECT tunnel)", () => {
    expect(results.http).toEqual({ status: 200, body: 'http /http-module' });
    onlyThroughEgress(targets.http);
  });

  it("Node's https module, its global agent and an agent the app makes, reach a listed server through it", () => {
    expect(results.https).toEqual({ status: 200, body: 'https /https-module' });
    expect(results.httpsOwnAgent).toEqual({ status: 200, body: 'https /own-agent' });
    expect(targets.https.connections).toBe(2);
    onlyThroughEgress(targets.https);
  });

  it('fetch goes through it (undici tunnels http:// with CONNECT too)', () => {
    expect(results.fetch).toEqual({ status: 200, body: 'fetch /fetch' });
    onlyThroughEgress(targets.fetch);
  });

  it('the AWS SDK, with the https agent it makes itself, goes through it too', () => {
    expect(results.sdk).toEqual({ plaintext: 'from the target' });
    onlyThroughEgress(targets.sdk);
  });

  it('a server that is running but not listed is refused to http and to fetch, and never sees a request', () => {
    expect(results.httpUnlisted).toMatchObject({ error: 'EGRESS_REFUSED', status: 403, message: expect.stringContaining('outbound allowlist') });
    // undici reports a refused CONNECT only as a cancelled request; the proxy's log says why.
    expect(results.fetchUnlisted).toMatchObject({ error: 'TypeError', message: 'fetch failed' });
    const refusals = proxyLog.slice(before.log).filter((e) => e.event === 'egress_refused' && e.port === targets.unlisted.port);
    expect(refusals).toEqual([expect.objectContaining({ error: 'DESTINATION_NOT_ALLOWED' }), expect.objectContaining({ error: 'DESTINATION_NOT_ALLOWED' })]);
    expect(seen.slice(before.seen).filter((s) => s.startsWith('unlisted'))).toEqual([]);
  });
});
