import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestServer } from '../../express/testing';
import { type Upstream, outboundPath, serveOutbound, startUpstream } from './upstream';

/**
 * A minimal forward proxy on 127.0.0.1 for plain-http absolute-URI requests. It forwards
 * requests for 127.0.0.1 (adding a header the target can see) and answers every other host
 * itself, so named hosts can be tested without DNS. CONNECT is refused and recorded.
 */
interface ForwardProxy {
  url: string;
  connections: number;
  requests: { url: string; host: string | undefined }[];
  connects: string[];
  close(): Promise<void>;
}

async function startForwardProxy(): Promise<ForwardProxy> {
  const server: Server = createServer((req: IncomingMessage, res) => {
    proxy.requests.push({ url: req.url ?? '', host: req.headers.host });
    const target = new URL(req.url ?? '');
    if (target.hostname !== '127.0.0.1') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`proxy answered for ${target.host}`);
      return;
    }
    const forwarded = request(target, { method: req.method, headers: { ...req.headers, 'x-via-test-proxy': '1' } }, (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.pipe(res);
    });
    forwarded.on('error', () => res.writeHead(502).end());
    req.pipe(forwarded);
  });
  server.on('connect', (req, socket) => {
    proxy.connects.push(req.url ?? '');
    socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
  });
  server.on('connection', () => {
    proxy.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: ForwardProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: 0,
    requests: [],
    connects: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

let target: Upstream;
let proxy: ForwardProxy;
let viaProxy: TestServer;
let bypassing: TestServer;
const savedProxy = process.env.HTTP_PROXY;

beforeAll(async () => {
  target = await startUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(req.headers['x-via-test-proxy'] ? 'reached via the proxy' : 'reached directly');
  });
  proxy = await startForwardProxy();
  const allowlist = [
    { host: '127.0.0.1', port: target.port },
    { host: 'api.example.com', port: 80 },
    { host: '::1', port: 8080 },
  ];
  // serveOutbound sets these variables only while the app is created, then restores them: the
  // app must keep using the egress it was created with.
  ({ t: viaProxy } = await serveOutbound(allowlist, {}, { HTTP_PROXY: proxy.url }));
  ({ t: bypassing } = await serveOutbound(allowlist, {}, { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }));
});

afterAll(async () => {
  await Promise.all([viaProxy.close(), bypassing.close()]);
  await Promise.all([target.close(), proxy.close()]);
});

it('leaves the environment as it found it', () => {
  expect(process.env.HTTP_PROXY).toBe(savedProxy);
});

it('sends the request through HTTP_PROXY as an absolute-URI request', async () => {
  const res = await viaProxy
    .as('alice', 'bidder')
    .get(outboundPath(`${target.origin}/through?x=1`))
    .expect(200);
  expect(res.body).toMatchObject({ status: 200, body: 'reached via the proxy', truncated: false });
  expect(proxy.requests).toContainEqual({ url: `${target.origin}/through?x=1`, host: `127.0.0.1:${target.port}` });
  expect(proxy.connects).toEqual([]);
});

it('reaches allowed names through the proxy without resolving them itself, in any case and with a trailing dot', async () => {
  for (const url of ['http://api.example.com/a', 'http://API.Example.COM./b', 'http://api.example.com:80/c']) {
    const res = await viaProxy.as('alice', 'bidder').get(outboundPath(url)).expect(200);
    expect(res.body.body).toMatch(/^proxy answered for api\.example\.com\.?$/);
  }
  expect(proxy.requests.map((r) => r.url)).toEqual(
    expect.arrayContaining(['http://api.example.com/a', 'http://api.example.com./b', 'http://api.example.com/c']),
  );
});

it('reaches a listed IPv6 literal under another spelling of it', async () => {
  const res = await viaProxy.as('alice', 'bidder').get(outboundPath('http://[0:0:0:0:0:0:0:1]:8080/v6')).expect(200);
  expect(res.body.body).toBe('proxy answered for [::1]:8080');
});

it('does not even contact the proxy for a refused destination', async () => {
  const before = proxy.connections;
  const seen = proxy.requests.length;
  for (const url of ['http://api.example.com:8080/', 'https://api.example.com/', 'http://x.api.example.com/', 'http://evil.example/']) {
    const res = await viaProxy.as('alice', 'bidder').get(outboundPath(url)).expect(403);
    expect(res.body.error).toBe('DESTINATION_NOT_ALLOWED');
  }
  expect(proxy.connections).toBe(before);
  expect(proxy.requests.length).toBe(seen);
});

it('honours NO_PROXY as set when the app was created', async () => {
  const seen = proxy.requests.length;
  const res = await bypassing
    .as('alice', 'bidder')
    .get(outboundPath(`${target.origin}/direct`))
    .expect(200);
  expect(res.body.body).toBe('reached directly');
  expect(proxy.requests.length).toBe(seen);
});
