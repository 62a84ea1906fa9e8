import { request } from 'node:http';
import type { Socket } from 'node:net';
import type { TestServer } from '../../express/testing';
import { type Upstream, closedPort, outboundPath, serveOutbound, startUpstream } from './upstream';

const LIMIT = 1024;

let up: Upstream;
let hang: Upstream;
let deadPort: number;
let t: TestServer;
let logs: Awaited<ReturnType<typeof serveOutbound>>['logs'];
/** Resolves when the upstream socket that served `/endless` closes. */
let endlessClosed: Promise<void>;
let endlessBytesWritten = 0;

beforeAll(async () => {
  let markEndlessClosed: () => void = () => {};
  endlessClosed = new Promise((resolve) => (markEndlessClosed = resolve));
  up = await startUpstream((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    switch (path) {
      case '/hello':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('hello from upstream');
        return;
      case '/missing':
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"nope"}');
        return;
      case '/teapot':
        res.writeHead(500).end('upstream broke');
        return;
      case '/redirect-away':
        res.writeHead(302, { location: 'http://evil.example/next' }).end();
        return;
      case '/redirect-home':
        res.writeHead(301, { location: '/hello' }).end('moved');
        return;
      case '/big':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('a'.repeat(LIMIT * 3));
        return;
      case '/exact':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('b'.repeat(LIMIT));
        return;
      case '/split-utf8':
        // The limit falls inside the three bytes of the euro sign.
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`${'c'.repeat(LIMIT - 1)}€ and more`);
        return;
      case '/endless': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const socket: Socket = req.socket;
        socket.on('close', () => markEndlessClosed());
        const chunk = Buffer.alloc(4096, 'e');
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) endlessBytesWritten += chunk.length;
        };
        res.on('drain', pump);
        pump();
        return;
      }
      case '/stall-body':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        return;
      case '/empty':
        res.writeHead(204).end();
        return;
      default:
        res.writeHead(404).end();
    }
  });
  hang = await startUpstream(() => {
    // Never answers.
  });
  deadPort = await closedPort();
  ({ t, logs } = await serveOutbound(
    [
      { host: '127.0.0.1', port: up.port },
      { host: '127.0.0.1', port: hang.port },
      { host: '127.0.0.1', port: deadPort },
    ],
    { maxBodyBytes: LIMIT, timeoutMs: 400 },
  ));
});

afterAll(async () => {
  await t.close();
  await up.close();
  await hang.close();
});

const alice = () => t.as('alice', 'bidder');
const fetchVia = (url: string) => alice().get(outboundPath(url));

describe('GET /outbound: reaching an allowlisted server', () => {
  it('returns the upstream status, content type and body, and sends the path and query on', async () => {
    const res = await fetchVia(`${up.origin}/hello?lang=en&n=1`).expect(200);
    expect(res.body).toEqual({
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      location: null,
      body: 'hello from upstream',
      truncated: false,
      bytes: 19,
    });
    expect(up.requests.at(-1)).toMatchObject({ method: 'GET', url: '/hello?lang=en&n=1' });
  });

  it('does not forward the caller identity headers upstream', async () => {
    await fetchVia(`${up.origin}/hello`).expect(200);
    const headers = up.requests.at(-1)!.headers;
    expect(Object.keys(headers).filter((h) => h.startsWith('x-oblv'))).toEqual([]);
  });

  it('passes non-2xx statuses through as data', async () => {
    const missing = await fetchVia(`${up.origin}/missing`).expect(200);
    expect(missing.body).toMatchObject({ status: 404, contentType: 'application/json', body: '{"error":"nope"}', truncated: false });
    const broken = await fetchVia(`${up.origin}/teapot`).expect(200);
    expect(broken.body).toMatchObject({ status: 500, body: 'upstream broke' });
  });

  it('answers a body-less response with an empty body', async () => {
    const res = await fetchVia(`${up.origin}/empty`).expect(200);
    expect(res.body).toEqual({ status: 204, contentType: null, location: null, body: '', truncated: false, bytes: 0 });
  });
});

describe('GET /outbound: redirects', () => {
  it('returns a redirect off the allowlist as is, with its Location, without following it', async () => {
    const res = await fetchVia(`${up.origin}/redirect-away`).expect(200);
    expect(res.body).toMatchObject({ status: 302, location: 'http://evil.example/next', body: '' });
  });

  it('does not follow a redirect even to an allowlisted URL', async () => {
    const before = up.requests.length;
    const res = await fetchVia(`${up.origin}/redirect-home`).expect(200);
    expect(res.body).toMatchObject({ status: 301, location: '/hello', body: 'moved' });
    expect(up.requests.slice(before).map((r) => r.url)).toEqual(['/redirect-home']);
  });
});

describe('GET /outbound: bounded body', () => {
  it('cuts a longer body at maxBodyBytes and says so', async () => {
    const res = await fetchVia(`${up.origin}/big`).expect(200);
    expect(res.body).toMatchObject({ status: 200, truncated: true, bytes: LIMIT });
    expect(res.body.body).toBe('a'.repeat(LIMIT));
  });

  it('does not call a body of exactly maxBodyBytes truncated', async () => {
    const res = await fetchVia(`${up.origin}/exact`).expect(200);
    expect(res.body).toMatchObject({ truncated: false, bytes: LIMIT, body: 'b'.repeat(LIMIT) });
  });

  it('decodes as UTF-8 and replaces a character cut in half by the limit', async () => {
    const res = await fetchVia(`${up.origin}/split-utf8`).expect(200);
    expect(res.body).toMatchObject({ truncated: true, bytes: LIMIT });
    expect(res.body.body).toBe(`${'c'.repeat(LIMIT - 1)}\uFFFD`);
  });

  it('stops reading an endless body and closes the upstream connection', async () => {
    const res = await fetchVia(`${up.origin}/endless`).expect(200);
    expect(res.body).toMatchObject({ status: 200, truncated: true, bytes: LIMIT, body: 'e'.repeat(LIMIT) });
    await expect(Promise.race([endlessClosed.then(() => 'closed'), delay(2000).then(() => 'still open')])).resolves.toBe('closed');
    // Only what sat in socket buffers was sent, not an unbounded stream.
    expect(endlessBytesWritten).toBeLessThan(64 << 20);
  });
});

describe('GET /outbound: upstream failures', () => {
  it('answers 504 UPSTREAM_TIMEOUT when the upstream never answers', async () => {
    const started = Date.now();
    const res = await fetchVia(`${hang.origin}/`).expect(504);
    const elapsed = Date.now() - started;
    expect(res.body).toEqual({ error: 'UPSTREAM_TIMEOUT', message: expect.stringContaining(`127.0.0.1:${hang.port}`) });
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(3000);
    expect(hang.connections).toBeGreaterThan(0);
  });

  it('answers 504 when the body stalls: the timeout covers the whole request', async () => {
    const res = await fetchVia(`${up.origin}/stall-body`).expect(504);
    expect(res.body.error).toBe('UPSTREAM_TIMEOUT');
  });

  it('answers 502 UPSTREAM_UNREACHABLE when nothing listens on an allowlisted port', async () => {
    const res = await fetchVia(`http://127.0.0.1:${deadPort}/`).expect(502);
    expect(res.body).toEqual({ error: 'UPSTREAM_UNREACHABLE', message: expect.stringContaining(`127.0.0.1:${deadPort}`) });
    expect(res.body.message).toContain('ECONNREFUSED');
  });
});

describe('GET /outbound: a caller who hangs up', () => {
  it('closes the upstream connection instead of waiting for the timeout', async () => {
    let upstreamClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    let requestArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    const silent = await startUpstream((req) => {
      req.socket.on('close', () => upstreamClosed());
      requestArrived();
    });
    const patient = await serveOutbound([{ host: '127.0.0.1', port: silent.port }], { timeoutMs: 60_000 });
    try {
      const call = request(`${patient.t.url}${outboundPath(`${silent.origin}/slow`)}`, {
        headers: { 'X-OBLV-User-Name': 'alice', 'X-OBLV-User-Role': 'bidder' },
      });
      call.on('error', () => {});
      call.end();
      await arrived;
      call.destroy();
      await expect(Promise.race([closed.then(() => 'closed'), delay(2000).then(() => 'still open')])).resolves.toBe('closed');
      await delay(50);
      expect(patient.logs.lines).toContainEqual(expect.objectContaining({ event: 'outbound.failed', reason: 'cancelled' }));
    } finally {
      await patient.t.close();
      await silent.close();
    }
  });
});

describe('GET /outbound: bad requests', () => {
  const invalid: [string, string][] = [
    ['no url', '/outbound'],
    ['an empty url', '/outbound?url='],
    ['two url parameters', `/outbound?url=${encodeURIComponent('http://127.0.0.1/')}&url=${encodeURIComponent('http://127.0.0.1/')}`],
    ['a relative URL', outboundPath('/hello')],
    ['a scheme-relative URL', outboundPath('//127.0.0.1/hello')],
    ['a bare host', outboundPath('127.0.0.1')],
    ['garbage', outboundPath('http://exa mple.com/')],
  ];
  it.each(invalid)('answers 400 INVALID_QUERY for %s', async (_what, path) => {
    const res = await alice().get(path).expect(400);
    expect(res.body).toMatchObject({ error: 'INVALID_QUERY', details: [expect.objectContaining({ field: 'url' })] });
  });

  it('answers 400 for a URL over 2048 characters, even to an allowlisted server', async () => {
    const long = `${up.origin}/hello?pad=${'x'.repeat(2048)}`;
    const before = up.connections;
    const res = await fetchVia(long).expect(400);
    expect(res.body.details[0]).toEqual({ field: 'url', message: expect.stringContaining('2048') });
    const justFits = `${up.origin}/hello?pad=`;
    await fetchVia(justFits + 'x'.repeat(2048 - justFits.length)).expect(200);
    expect(up.connections - before).toBeLessThanOrEqual(1);
  });

  it('answers 401 to an anonymous caller and connects nowhere', async () => {
    const before = up.connections;
    const res = await t.anonymous.get(outboundPath(`${up.origin}/hello`)).expect(401);
    expect(res.body.error).toBe('UNAUTHENTICATED');
    expect(up.connections).toBe(before);
  });

  it('answers 405 to another method', async () => {
    const res = await alice()
      .post(outboundPath(`${up.origin}/hello`))
      .expect(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});

describe('GET /outbound: logs and documentation', () => {
  it('logs host and port, never the path, query or body', async () => {
    logs.lines.length = 0;
    await fetchVia(`${up.origin}/hello?token=s3cr3t-query`).expect(200);
    await fetchVia(`${up.origin}/secret-path-404`).expect(200);
    await fetchVia(`http://127.0.0.1:${deadPort}/also-secret?k=v`).expect(502);
    const text = logs.text();
    for (const leak of ['s3cr3t', 'token', 'secret-path', 'also-secret', 'hello from upstream', '/hello']) {
      expect(text).not.toContain(leak);
    }
    expect(logs.lines).toContainEqual(expect.objectContaining({ event: 'outbound.fetched', host: '127.0.0.1', port: up.port, status: 200 }));
    expect(logs.lines).toContainEqual(expect.objectContaining({ event: 'outbound.failed', host: '127.0.0.1', port: deadPort, reason: 'unreachable' }));
  });

  it('is documented in /openapi.json with its query and error statuses', async () => {
    const res = await t.anonymous.get('/openapi.json').expect(200);
    const op = res.body.paths['/outbound'].get;
    expect(op.parameters).toEqual([expect.objectContaining({ name: 'url', in: 'query', required: true })]);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '502', '504']);
    expect(op.responses['200'].content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['status', 'contentType', 'location', 'body', 'truncated', 'bytes']),
    );
  });
});

/** A timer that does not keep jest alive once the race it is part of is decided. */
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
