import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientIdentity, generateIdentity, loadIdentity } from '../../client/identity';
import type { LocalStack, LocalStackOptions } from '../../dev/local/local-stack';
import { developmentPcrs } from '../../dev/local/measurements';
import { type TestBuild, buildForTests, examplesApp } from './support/build';
import { call, ingressAgent } from './support/https';
import { listeningSockets } from './support/listening';
import { freePort } from '../../transport/free-port';

const describeOnLinux = process.platform === 'linux' ? describe : describe.skip;

/** A local HTTP server that records, for each connection, the process id that opened it (Linux /proc). */
interface Target {
  server: Server;
  port: number;
  /** The command line of the process behind each accepted connection. */
  peers: string[];
}

async function target(): Promise<Target> {
  const t = { peers: [] } as unknown as Target;
  t.server = createServer((req, res) => res.end(JSON.stringify({ via: 'target', path: req.url })));
  t.server.on('connection', (socket: Socket) => t.peers.push(ownerOf(socket.remotePort!, socket.localPort!)));
  await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

/** The command line of the process holding the client side of the connection 127.0.0.1:`port` → 127.0.0.1:`serverPort`. */
function ownerOf(port: number, serverPort: number): string {
  const hex = (p: number) => `0100007F:${p.toString(16).toUpperCase().padStart(4, '0')}`;
  // The same local port can also stand on sockets of earlier connections elsewhere (TIME_WAIT, with
  // inode 0): only the established one to this server belongs to the process asked for.
  const inode = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((fields) => fields[1] === hex(port) && fields[2] === hex(serverPort) && fields[3] === '01' && fields[9] !== '0')?.[9];
  if (!inode) return 'unknown';
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        // closed meanwhile
      }
    }
  }
  return 'unknown';
}

/** Process ids of this process's descendants whose command line contains `needle`. */
function descendants(needle: string): number[] {
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)) {
        if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(needle)) found.push(child);
        walk(child);
      }
    }
  };
  walk(process.pid);
  return found;
}

/** One raw exchange with the egress proxy; the status it answered. */
function rawStatus(port: number, text: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0));
    };
    const timer = setTimeout(done, 3_000);
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      got += chunk;
      if (got.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(text);
  });
}

describeOnLinux('egress in local mode: the outbound app through the enclave proxy and the parent relay', () => {
  let build: TestBuild;
  let tmp: string;
  let alice: ClientIdentity;
  let stack: LocalStack;
  let bridgePort: number;
  let allowed: Target; // listed as 127.0.0.1:port
  let named: Target; // listed as localhost:port
  let unlisted: Target;
  let proxyPort: number;
  const agent = () => ingressAgent(alice);
  const outbound = (url: string) => call(bridgePort, `/outbound?url=${encodeURIComponent(url)}`, agent(), { timeoutMs: 10_000 });
  const connections = () => allowed.peers.length + named.peers.length + unlisted.peers.length;

  beforeAll(async () => {
    build = buildForTests();
    tmp = mkdtempSync(join(tmpdir(), 'cloister-egress-e2e-'));
    [allowed, named, unlisted] = await Promise.all([target(), target(), target()]);
    const { keyLine } = await generateIdentity('alice', join(tmp, 'alice'));
    alice = loadIdentity(join(tmp, 'alice'));
    const configPath = join(tmp, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        users: [{ name: 'alice', role: 'member', key: keyLine }],
        outbound: [
          { host: '127.0.0.1', port: allowed.port },
          { host: 'localhost', port: named.port },
        ],
      }),
    );
    bridgePort = await freePort();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startLocalStack } = require(join(build.dir, 'dev', 'local', 'local-stack.js')) as typeof import('../../dev/local/local-stack');
    const options: LocalStackOptions = {
      codeDir: build.dir,
      configPath,
      devDir: join(tmp, 'dev'),
      app: examplesApp(build.dir),
      pcrs: developmentPcrs(build.dir, examplesApp(build.dir)),
      runDir: join(tmp, 'run'),
      port: bridgePort,
      showLogs: false,
    };
    stack = await startLocalStack(options);
    // The egress proxy is the supervisor's only TCP listener (the ingress and the app are on unix sockets).
    const [supervisor] = descendants(join('enclave', 'main.js'));
    const tcp = listeningSockets(supervisor!).tcp;
    expect(tcp).toHaveLength(1);
    expect(tcp[0]!.host).toBe('127.0.0.1');
    proxyPort = tcp[0]!.port;
  }, 40_000);

  afterAll(async () => {
    await stack?.stop();
    for (const t of [allowed, named, unlisted]) t?.server.close();
    build?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('reaches an allowlisted 127.0.0.1 server, over a connection the parent relay opened', async () => {
    const answer = await outbound(`http://127.0.0.1:${allowed.port}/x?q=1`);
    expect(answer).toMatchObject({ status: 200 });
    expect(JSON.parse((answer as { body: string }).body)).toMatchObject({ status: 200, body: JSON.stringify({ via: 'target', path: '/x?q=1' }) });
    expect(allowed.peers).toHaveLength(1);
    expect(allowed.peers[0]).toContain(join('parent', 'egress-relay', 'main.js'));
  });

  it('reaches an allowlisted name, which the relay resolves and dials', async () => {
    const answer = await outbound(`http://LOCALHOST.:${named.port}/n`);
    expect(answer).toMatchObject({ status: 200 });
    expect(named.peers.at(-1)).toContain(join('parent', 'egress-relay', 'main.js'));
  });

  it.each([
    ['another port of an allowed IP', () => `http://127.0.0.1:${unlisted.port}/`],
    ['another port of an allowed name', () => `http://localhost:${allowed.port}/`],
    ['an IP literal of an allowed name', () => `http://127.0.0.1:${named.port}/`],
    ['a subdomain of an allowed name', () => `http://sub.localhost:${named.port}/`],
    ['a host not listed', () => `http://example.com:${allowed.port}/`],
    ['https to an allowed host on another port', () => `https://127.0.0.1:${unlisted.port}/`],
  ])('the app is refused for %s (403) and nothing is dialled', async (_name, url) => {
    const before = connections();
    const answer = await outbound(url());
    expect(answer).toMatchObject({ status: 403 });
    expect(JSON.parse((answer as { body: string }).body)).toMatchObject({ error: 'DESTINATION_NOT_ALLOWED' });
    expect(connections()).toBe(before);
  });

  it.each([
    ['a host not listed', () => `CONNECT example.com:${allowed.port} HTTP/1.1\r\n\r\n`],
    ['another port of an allowed IP', () => `CONNECT 127.0.0.1:${unlisted.port} HTTP/1.1\r\n\r\n`],
    ['another port of an allowed name', () => `GET http://localhost:${allowed.port}/ HTTP/1.1\r\nHost: localhost:${allowed.port}\r\n\r\n`],
    ['a subdomain of an allowed name', () => `CONNECT sub.localhost:${named.port} HTTP/1.1\r\n\r\n`],
    ['an IP literal of an allowed name', () => `CONNECT 127.0.0.1:${named.port} HTTP/1.1\r\n\r\n`],
    ['a Host header for another target (absolute URI)', () => `GET http://127.0.0.1:${allowed.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${unlisted.port}\r\n\r\n`],
    ['a Host header for another host (CONNECT)', () => `CONNECT 127.0.0.1:${allowed.port} HTTP/1.1\r\nHost: example.com\r\n\r\n`],
    [
      'userinfo naming an allowed target',
      () => `GET http://127.0.0.1:${allowed.port}@127.0.0.1:${unlisted.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${unlisted.port}\r\n\r\n`,
    ],
  ])("the supervisor's egress proxy itself refuses %s with 403, dialling nothing", async (_name, request) => {
    const before = connections();
    expect(await rawStatus(proxyPort, request())).toBe(403);
    expect(connections()).toBe(before);
  });
});
