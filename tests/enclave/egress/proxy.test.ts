import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyAgent, fetch } from 'undici';
import { type ForwardProxy, startForwardProxy } from '../../../enclave/egress/forward-proxy';
import { type Relay, startRelay } from '../../../parent/egress-relay/relay';
import type { LogEntry } from '../../../contract/log';
import type { Address } from '../../../transport/address';

/** An HTTP server on 127.0.0.1 that counts the connections it accepts and echoes what it got. */
interface Target {
  server: Server;
  port: number;
  connections: number;
  seen: { path: string; headers: IncomingHttpHeaders }[];
}

async function target(name: string): Promise<Target> {
  const t = { connections: 0, seen: [] } as unknown as Target;
  t.server = createServer((req, res) => {
    t.seen.push({ path: req.url!, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ name, path: req.url }));
  });
  t.server.on('connection', () => t.connections++);
  await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
  t.port = (t.server.address() as AddressInfo).port;
  return t;
}

/** One raw exchange with the proxy: what it answered until it closed (or `waitMs` passed). */
function raw(proxy: ForwardProxy, text: string, waitMs = 3_000): Promise<{ status: number; text: string }> {
  const { port } = proxy.address as { port: number };
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), text: got });
    };
    const timer = setTimeout(done, waitMs);
    socket.setEncoding('utf8').on('data', (chunk: string) => (got += chunk));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(text);
  });
}

let tmp: string;
let allowed: Target; // listed as 127.0.0.1:port
let named: Target; // listed as localhost:port only
let unlisted: Target; // not listed at all
let relay: Relay;
let proxy: ForwardProxy;
const relayLog: LogEntry[] = [];
const proxyLog: LogEntry[] = [];

const totalConnections = () => allowed.connections + named.connections + unlisted.connections;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-egress-'));
  [allowed, named, unlisted] = await Promise.all([target('allowed'), target('named'), target('unlisted')]);
  const outbound = [
    { host: '127.0.0.1', port: allowed.port },
    { host: 'localhost', port: named.port },
  ];
  const relayAddress: Address = { kind: 'unix', path: join(tmp, 'egress.sock') };
  relay = await startRelay({ listen: relayAddress, outbound, log: (e) => relayLog.push(e) });
  proxy = await startForwardProxy({ relay: relayAddress, outbound, log: (e) => proxyLog.push(e) });
});

afterAll(async () => {
  await proxy?.close();
  await relay?.close();
  for (const t of [allowed, named, unlisted]) t?.server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('allowed targets are reached through the proxy and the relay', () => {
  it('listens on loopback with a port chosen by the system', () => {
    expect(proxy.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('absolute-URI: undici fetch (proxyTunnel: false) reaches the listed server, through the relay', async () => {
    const before = relayLog.length;
    const response = await fetch(`http://127.0.0.1:${allowed.port}/x?secret=1`, { dispatcher: new ProxyAgent({ uri: proxy.url, proxyTunnel: false }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: 'allowed', path: '/x?secret=1' });
    // The origin server got origin form, and nothing meant for the proxy.
    const last = allowed.seen.at(-1)!;
    expect(last.path).toBe('/x?secret=1');
    expect(last.headers['proxy-connection']).toBeUndefined();
    expect(relayLog.slice(before)).toContainEqual(expect.objectContaining({ event: 'egress_relay_open', host: '127.0.0.1', port: allowed.port }));
  });

  it('CONNECT: undici fetch (tunnelling) reaches the listed server, through the relay', async () => {
    const before = relayLog.length;
    const response = await fetch(`http://127.0.0.1:${allowed.port}/tunnelled`, { dispatcher: new ProxyAgent({ uri: proxy.url, proxyTunnel: true }) });
    expect(await response.json()).toEqual({ name: 'allowed', path: '/tunnelled' });
    expect(relayLog.slice(before)).toContainEqual(expect.objectContaining({ event: 'egress_relay_open', host: '127.0.0.1', port: allowed.port }));
  });

  it('a listed name is resolved and dialled by the relay; case and one trailing dot do not matter', async () => {
    const answer = await raw(
      proxy,
      `CONNECT LocalHost.:${named.port} HTTP/1.1\r\nHost: localhost:${named.port}\r\n\r\nGET /n HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"name":"named"');
  });

  it('logs host and port only, never a path or a query string', () => {
    const text = JSON.stringify([...proxyLog, ...relayLog]);
    expect(text).not.toContain('secret');
    expect(text).not.toContain('/x');
    expect(text).not.toContain('tunnelled');
  });
});

describe('every bypass attempt is refused before any connection is made', () => {
  const a = () => allowed.port;
  const n = () => named.port;
  const u = () => unlisted.port;
  const cases: [string, () => string, number, string][] = [
    ['a host not listed (CONNECT)', () => `CONNECT example.com:${a()} HTTP/1.1\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['a host not listed (absolute URI)', () => `GET http://example.com:${a()}/ HTTP/1.1\r\nHost: example.com:${a()}\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['another port of an allowed IP', () => `CONNECT 127.0.0.1:${u()} HTTP/1.1\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['another port of an allowed name', () => `GET http://localhost:${a()}/ HTTP/1.1\r\nHost: localhost:${a()}\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['the default port of an allowed name', () => `GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['a subdomain of an allowed name', () => `CONNECT sub.localhost:${n()} HTTP/1.1\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['an IP literal of an allowed name', () => `CONNECT 127.0.0.1:${n()} HTTP/1.1\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['an IPv6 literal of an allowed name', () => `CONNECT [::1]:${n()} HTTP/1.1\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    ['the mapped IPv6 form of an allowed IP', () => `CONNECT [::ffff:127.0.0.1]:${a()} HTTP/1.1\r\n\r\n`, 403, 'DESTINATION_NOT_ALLOWED'],
    [
      'absolute URI to an unlisted port with the Host of an allowed one',
      () => `GET http://127.0.0.1:${u()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`,
      403,
      'HOST_MISMATCH',
    ],
    [
      'absolute URI to an allowed target with the Host of another',
      () => `GET http://127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${u()}\r\n\r\n`,
      403,
      'HOST_MISMATCH',
    ],
    [
      'absolute URI with a Host of an allowed name on the same port',
      () => `GET http://127.0.0.1:${a()}/ HTTP/1.1\r\nHost: localhost:${a()}\r\n\r\n`,
      403,
      'HOST_MISMATCH',
    ],
    [
      'absolute URI with two Host headers',
      () => `GET http://127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\nHost: example.com\r\n\r\n`,
      400,
      'MALFORMED_REQUEST',
    ],
    [
      'CONNECT to an allowed target with the Host of another',
      () => `CONNECT 127.0.0.1:${a()} HTTP/1.1\r\nHost: example.com:${a()}\r\n\r\n`,
      403,
      'HOST_MISMATCH',
    ],
    ['CONNECT with userinfo', () => `CONNECT user@127.0.0.1:${a()} HTTP/1.1\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    ['absolute URI with userinfo', () => `GET http://user:pw@127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`, 403, 'USERINFO_NOT_ALLOWED'],
    [
      'absolute URI with userinfo naming an allowed target',
      () => `GET http://127.0.0.1:${a()}@127.0.0.1:${u()}/ HTTP/1.1\r\nHost: 127.0.0.1:${u()}\r\n\r\n`,
      403,
      'USERINFO_NOT_ALLOWED',
    ],
    ['a backslash authority trick', () => `GET http://127.0.0.1:${u()}\\@127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`, 403, ''],
    ['a percent-encoded host', () => `GET http://127.0.0.1%3a${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    ['CONNECT without a port', () => `CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    ['CONNECT with a path', () => `CONNECT 127.0.0.1:${a()}/x HTTP/1.1\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    ['CONNECT to an out-of-range port', () => `CONNECT 127.0.0.1:${a() + 65_536} HTTP/1.1\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    ['an origin-form request to the proxy itself', () => `GET /x HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    ['https in absolute form', () => `GET https://127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`, 400, 'MALFORMED_TARGET'],
    // The listed 127.0.0.1 in other spellings a URL parser or a resolver reads the same way.
    ...['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '127.000.0.1', '0x7f.0.0.1', '127.0.0.1.'].flatMap(
      (spelling): [string, () => string, number, string][] => [
        [`CONNECT to ${spelling}`, () => `CONNECT ${spelling}:${a()} HTTP/1.1\r\n\r\n`, 400, 'MALFORMED_TARGET'],
        [`an absolute URI to ${spelling}`, () => `GET http://${spelling}:${a()}/ HTTP/1.1\r\nHost: ${spelling}:${a()}\r\n\r\n`, 400, 'MALFORMED_TARGET'],
      ],
    ),
    ['CONNECT whose target is cut by a bare LF', () => `CONNECT 127.0.0.1:${a()}\nexample.com:443 HTTP/1.1\r\n\r\n`, 400, 'MALFORMED_REQUEST'],
    ['a CONNECT line without an HTTP version', () => `CONNECT 127.0.0.1:${a()}\r\n\r\n`, 400, 'MALFORMED_REQUEST'],
    ['an absolute-URI line without an HTTP version', () => `GET http://127.0.0.1:${a()}/\r\n\r\n`, 400, 'MALFORMED_REQUEST'],
    ['a bare CR in a header', () => `CONNECT 127.0.0.1:${a()} HTTP/1.1\r\nHost: 127.0.0.1\r:${a()}\r\n\r\n`, 400, ''],
    ['a bare LF ending a header', () => `GET http://127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1:${a()}\nX: y\r\n\r\n`, 400, ''],
    ['an absolute URI whose Host omits the port the URI names', () => `GET http://127.0.0.1:${a()}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 403, 'HOST_MISMATCH'],
  ];

  it.each(cases)('%s', async (_name, request, status, error) => {
    const before = totalConnections();
    const answer = await raw(proxy, request());
    // A request the HTTP parser itself rejects is a 400 with no body; everything else names its reason.
    if (error === '') expect([400, 403]).toContain(answer.status);
    else {
      expect(answer.status).toBe(status);
      expect(answer.text).toContain(`"error":"${error}"`);
    }
    expect(totalConnections()).toBe(before);
  });

  it('answers the first of several absolute-URI requests sent in one write and closes; the others reach no target', async () => {
    const seenBefore = allowed.seen.length;
    const one = (path: string) => `GET http://127.0.0.1:${a()}${path} HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`;
    const answer = await raw(proxy, one('/first') + one('/second') + one('/third'));
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer.text).toContain('"path":"/first"');
    expect(allowed.seen.slice(seenBefore).map((s) => s.path)).toEqual(['/first']);
  });

  it('lets no bare CR or LF anywhere in a request head reach a target (property)', async () => {
    const heads = [
      () => `CONNECT 127.0.0.1:${a()} HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`,
      () => `GET http://127.0.0.1:${a()}/p HTTP/1.1\r\nHost: 127.0.0.1:${a()}\r\n\r\n`,
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: heads.length - 1 }), fc.nat(), fc.constantFrom('\r', '\n'), async (which, at, stray) => {
        const head = heads[which]!();
        // Anywhere after the first byte of the request line and before the blank line that ends the
        // head, but not inside an existing CRLF. (Line breaks before the request line are not part
        // of a request: HTTP lets a server skip them, and the parser does.)
        const positions = [...head.slice(0, -4)].flatMap((_, i) => (i === 0 || head.slice(i - 1, i + 1) === '\r\n' ? [] : [i]));
        const position = positions[at % positions.length]!;
        const before = totalConnections();
        const answer = await raw(proxy, head.slice(0, position) + stray + head.slice(position), 1_000);
        expect(answer.status === 0 || answer.status >= 400).toBe(true);
        expect(totalConnections()).toBe(before);
      }),
      { numRuns: 40 },
    );
  }, 60_000);

  it('the refusal names the host and port', async () => {
    const answer = await raw(proxy, `CONNECT example.com:${a()} HTTP/1.1\r\n\r\n`);
    expect(answer.text).toContain(`example.com:${a()} is not on this enclave's outbound allowlist`);
  });
});

describe('the relay enforces the list on its own', () => {
  function ask(line: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect((relay.address as { path: string }).path);
      let got = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (got += chunk));
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
      socket.write(line);
    });
  }

  it.each([
    ['an unlisted port', () => ({ v: 1, host: '127.0.0.1', port: unlisted.port })],
    ['an IP literal of a listed name', () => ({ v: 1, host: '127.0.0.1', port: named.port })],
    ['a subdomain', () => ({ v: 1, host: 'sub.localhost', port: named.port })],
    ['the listed IPv4 address in decimal', () => ({ v: 1, host: '2130706433', port: allowed.port })],
    ['the listed IPv4 address in hex', () => ({ v: 1, host: '0x7f000001', port: allowed.port })],
    ['the listed IPv4 address in octal', () => ({ v: 1, host: '0177.0.0.1', port: allowed.port })],
    ['the listed IPv4 address shortened', () => ({ v: 1, host: '127.1', port: allowed.port })],
  ])('refuses %s with NOT_ALLOWED and connects nowhere', async (_name, request) => {
    const before = totalConnections();
    const reply = await ask(`${JSON.stringify(request())}\n`);
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: 'NOT_ALLOWED' });
    expect(totalConnections()).toBe(before);
  });

  it('refuses what is not a tunnel request', async () => {
    const before = totalConnections();
    expect(JSON.parse(await ask('GET / HTTP/1.1\r\n\r\n'))).toMatchObject({ ok: false, error: 'BAD_REQUEST' });
    expect(JSON.parse(await ask(`${'x'.repeat(5_000)}\n`))).toMatchObject({ ok: false, error: 'BAD_REQUEST' });
    expect(totalConnections()).toBe(before);
  });

  it("a proxy whose list is wider than the relay's still gets a 403 from the relay", async () => {
    const wide = await startForwardProxy({ relay: relay.address, outbound: [{ host: '127.0.0.1', port: unlisted.port }], log: () => {} });
    try {
      const before = unlisted.connections;
      const answer = await raw(wide, `CONNECT 127.0.0.1:${unlisted.port} HTTP/1.1\r\n\r\n`);
      expect(answer.status).toBe(403);
      expect(answer.text).toContain('refused by the egress relay');
      expect(unlisted.connections).toBe(before);
    } finally {
      await wide.close();
    }
  });

  it('a listed target that is down is a 502 naming it', async () => {
    const down = await target('down');
    const port = down.port;
    await new Promise((resolve) => down.server.close(resolve));
    const r = await startRelay({ listen: { kind: 'unix', path: join(tmp, 'down.sock') }, outbound: [{ host: '127.0.0.1', port }], log: () => {} });
    const p = await startForwardProxy({ relay: r.address, outbound: [{ host: '127.0.0.1', port }], log: () => {} });
    try {
      const answer = await raw(p, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
      expect(answer.status).toBe(502);
      expect(answer.text).toContain(`127.0.0.1:${port}`);
      expect(answer.text).toContain('ECONNREFUSED');
    } finally {
      await p.close();
      await r.close();
    }
  });

  it('a relay that cannot be reached is a 502, not a direct connection', async () => {
    const p = await startForwardProxy({
      relay: { kind: 'unix', path: join(tmp, 'nobody.sock') },
      outbound: [{ host: '127.0.0.1', port: allowed.port }],
      log: () => {},
    });
    try {
      const before = totalConnections();
      const answer = await raw(p, `CONNECT 127.0.0.1:${allowed.port} HTTP/1.1\r\n\r\n`);
      expect(answer.status).toBe(502);
      expect(answer.text).toContain('EGRESS_RELAY_UNREACHABLE');
      expect(totalConnections()).toBe(before);
    } finally {
      await p.close();
    }
  });
});
