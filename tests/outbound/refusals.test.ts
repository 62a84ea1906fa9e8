import type { TestServer } from '../../express/testing';
import { type Upstream, outboundPath, serveOutbound, startUpstream } from './upstream';

/**
 * Every case here must be refused in-app, before a DNS lookup or a connection. Three counting
 * servers listen on 127.0.0.1: `a` is listed as 127.0.0.1, `b` only under the name localhost,
 * `c` not at all. Any connection to any of them during a refused request fails the test.
 */
let a: Upstream;
let b: Upstream;
let c: Upstream;
let t: TestServer;
let logs: Awaited<ReturnType<typeof serveOutbound>>['logs'];

beforeAll(async () => {
  [a, b, c] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
  ({ t, logs } = await serveOutbound([
    { host: '127.0.0.1', port: a.port },
    { host: 'localhost', port: b.port },
    { host: 'api.example.com', port: 443 },
  ]));
});

afterAll(async () => {
  await t.close();
  await Promise.all([a.close(), b.close(), c.close()]);
});

const connections = () => a.connections + b.connections + c.connections;

async function expectRefused(url: string, status: 400 | 403) {
  const before = connections();
  const res = await t.as('alice', 'bidder').get(outboundPath(url)).expect(status);
  expect(res.body.error).toBe(status === 403 ? 'DESTINATION_NOT_ALLOWED' : 'INVALID_QUERY');
  // Let any connection the app might have started in the background arrive before counting.
  await new Promise((resolve) => setImmediate(resolve));
  expect(connections()).toBe(before);
  return res.body as { error: string; message: string };
}

describe('destinations not on the allowlist: 403 DESTINATION_NOT_ALLOWED, no connection', () => {
  const port = () => ({ a: a.port, b: b.port, c: c.port });
  const cases: [string, () => string, () => string][] = [
    ['another port of an allowed host', () => `http://127.0.0.1:${port().c}/`, () => `127.0.0.1:${port().c}`],
    ['the default port of an allowed host', () => 'http://127.0.0.1/', () => '127.0.0.1:80'],
    ['https on an allowed host without a port', () => 'https://127.0.0.1/', () => '127.0.0.1:443'],
    ['localhost when only 127.0.0.1 is listed', () => `http://localhost:${port().a}/`, () => `localhost:${port().a}`],
    ['the IP of a listed name', () => `http://127.0.0.1:${port().b}/`, () => `127.0.0.1:${port().b}`],
    ['another spelling of a listed IP', () => `http://[::ffff:127.0.0.1]:${port().a}/`, () => `[::ffff:7f00:1]:${port().a}`],
    ['IPv6 loopback when IPv4 loopback is listed', () => `http://[::1]:${port().a}/`, () => `[::1]:${port().a}`],
    ['a host not listed', () => 'https://evil.example/', () => 'evil.example:443'],
    ['a subdomain of a listed name', () => `http://sub.localhost:${port().b}/`, () => `sub.localhost:${port().b}`],
    ['a subdomain of a listed domain', () => 'https://x.api.example.com/', () => 'x.api.example.com:443'],
    ['the parent of a listed domain', () => 'https://example.com/', () => 'example.com:443'],
    ['a listed name as a prefix', () => 'https://api.example.com.evil.example/', () => 'api.example.com.evil.example:443'],
    ['a listed IP as a prefix', () => `http://127.0.0.1.evil.example:${port().a}/`, () => `127.0.0.1.evil.example:${port().a}`],
    ['a backslash ending the authority early', () => `http://evil.example\\@127.0.0.1:${port().a}/`, () => 'evil.example:80'],
    ['backslashes for slashes', () => `http:\\\\evil.example\\@127.0.0.1:${port().a}/`, () => 'evil.example:80'],
    ['a percent-encoded name', () => `http://%6c%6f%63%61%6c%68%6f%73%74:${port().a}/`, () => `localhost:${port().a}`],
    ['a percent-encoded dot', () => `http://127.0.0.1%2eevil.example:${port().a}/`, () => `127.0.0.1.evil.example:${port().a}`],
    ['a hex IPv4 literal of an unlisted port', () => `http://0x7f.0.0.1:${port().c}/`, () => `127.0.0.1:${port().c}`],
    ['a tab hidden in the host', () => `http://local\thost:${port().a}/`, () => `localhost:${port().a}`],
  ];
  it.each(cases)('refuses %s', async (_what, url, named) => {
    const body = await expectRefused(url(), 403);
    expect(body.message).toContain(named());
  });

  it('logs the refusal with host and port only', async () => {
    logs.lines.length = 0;
    await expectRefused(`http://127.0.0.1:${c.port}/private/path?q=secret`, 403);
    expect(logs.lines).toContainEqual(expect.objectContaining({ event: 'outbound.refused', host: '127.0.0.1', port: c.port }));
    expect(logs.text()).not.toMatch(/private|secret/);
  });
});

describe('URLs that are not plain http(s) to a host: 400 INVALID_QUERY, no connection', () => {
  const cases: [string, () => string][] = [
    ['userinfo hiding the real host', () => `http://127.0.0.1:${a.port}@evil.example/`],
    ['userinfo in front of an allowed host', () => `http://evil.example@127.0.0.1:${a.port}/`],
    ['a user and password in front of an allowed host', () => `http://user:pass@127.0.0.1:${a.port}/`],
    ['an empty user name with a password', () => `http://:pass@127.0.0.1:${a.port}/`],
    ['userinfo behind an encoded slash', () => `http://evil.example%2f@127.0.0.1:${a.port}/`],
    ['an encoded colon in the host', () => `http://127.0.0.1%3a${a.port}/`],
    ['an encoded slash in the host', () => `http://127.0.0.1%2f.evil.example:${a.port}/`],
    ['an encoded NUL in the host', () => `http://127.0.0.1%00.evil.example:${a.port}/`],
    ['a port out of range', () => 'http://127.0.0.1:65536/'],
    ['a listed name with two trailing dots', () => 'https://api.example.com../'],
    ['a listed name with an empty label', () => 'https://api..example.com/'],
    ['a listed name with a leading dot', () => 'https://.api.example.com/'],
    ['file:', () => 'file:///etc/passwd'],
    ['file: with a host', () => `file://127.0.0.1:${a.port}/etc/passwd`],
    ['ftp:', () => `ftp://127.0.0.1:${a.port}/`],
    ['data:', () => 'data:text/plain,hello'],
    ['javascript:', () => 'javascript:alert(1)'],
    ['ws:', () => `ws://127.0.0.1:${a.port}/`],
    ['gopher:', () => `gopher://127.0.0.1:${a.port}/_GET%20/`],
    ['blob:', () => `blob:http://127.0.0.1:${a.port}/x`],
    ['a scheme in upper case that is not http', () => `FTP://127.0.0.1:${a.port}/`],
  ];
  it.each(cases)('refuses %s', async (_what, url) => {
    const body = (await expectRefused(url(), 400)) as { details?: { field: string }[] };
    expect(body.details?.[0]?.field).toBe('url');
  });
});

describe('variants of a listed destination are the same destination', () => {
  it.each([
    ['the listed IP', () => `http://127.0.0.1:${a.port}/`, () => a],
    ['the listed IP with a trailing dot', () => `http://127.0.0.1.:${a.port}/`, () => a],
    ['the listed name in upper case', () => `http://LOCALHOST:${b.port}/`, () => b],
    ['the listed name in mixed case', () => `http://LocalHost:${b.port}/x?y=1`, () => b],
    ['an upper-case scheme', () => `HTTP://127.0.0.1:${a.port}/`, () => a],
  ])('reaches %s', async (_what, url, server) => {
    const target = server();
    const before = target.requests.length;
    const res = await t.as('alice', 'bidder').get(outboundPath(url())).expect(200);
    expect(res.body).toMatchObject({ status: 200, body: 'ok' });
    expect(target.requests.length).toBe(before + 1);
  });

  it('reached nothing but the listed servers, and never c', () => {
    expect(c.connections).toBe(0);
  });
});
