import { Agent, request as httpsRequest } from 'node:https';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type Stack, identityHeaders, injected, rawExchange, request, startStack, statuses } from '../../helpers/network-harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const lastSeen = () => stack.app.seen[stack.app.seen.length - 1]!;

/** The protocol a TLS handshake settles on with the ingress, or the handshake's error code. */
function handshake(options: {
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: stack.port, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'], ...options });
    socket.on('secureConnect', () => {
      resolve(`${socket.getProtocol()} ${socket.alpnProtocol}`);
      socket.destroy();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('ingress TLS', () => {
  it('speaks TLS 1.3 and 1.2 with HTTP/1.1, and nothing older', async () => {
    expect(await handshake({})).toBe('TLSv1.3 http/1.1');
    expect(await handshake({ maxVersion: 'TLSv1.2' })).toBe('TLSv1.2 http/1.1');
    expect(await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).not.toMatch(/^TLSv/);
  });

  it('refuses TLS 1.2 suites without forward secrecy or AEAD', async () => {
    expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA' })).not.toMatch(/^TLSv/);
  });

  it('presents the certificate it was given', async () => {
    const res = await request(stack.port, { path: '/.well-known/cloister/config' });
    expect(res.peerCertificate!.publicKey.export({ type: 'spki', format: 'der' })).toEqual(stack.tls.spkiDer);
  });
});

describe('ingress: who is calling', () => {
  it('greets an authenticated user by the name and role of their key', async () => {
    const res = await request(stack.port, { path: '/hello', credentials: stack.clients.alice });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ name: 'alice', role: 'bidder' });
    expect(identityHeaders(lastSeen())).toEqual(injected('alice', 'bidder'));
  });

  it('tells two users apart on their own connections', async () => {
    const res = await request(stack.port, { path: '/hello', credentials: stack.clients.bob });
    expect(JSON.parse(res.body.toString())).toMatchObject({ name: 'bob', role: 'bidder' });
  });

  it('identifies a user configured by a public JWK (RFC 7638 thumbprint)', async () => {
    const res = await request(stack.port, { path: '/hello', credentials: stack.clients.jwkuser });
    expect(JSON.parse(res.body.toString())).toMatchObject({ name: 'jwkuser', role: 'tester' });
  });

  it('forwards a request without a client certificate with no identity: /hello is 401', async () => {
    const res = await request(stack.port, { path: '/hello' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'UNAUTHENTICATED' });
    expect(identityHeaders(lastSeen())).toEqual([]);
  });

  it('gives an unknown client certificate no identity, and logs its key (not a secret) for the operator', async () => {
    const res = await request(stack.port, { path: '/hello', credentials: stack.clients.stranger });
    expect(res.status).toBe(401);
    expect(identityHeaders(lastSeen())).toEqual([]);
    expect(stack.logs).toContainEqual(expect.objectContaining({ level: 'warn', event: 'unknown_client_key', key: stack.clients.stranger.key }));
  });

  it('keeps the identity on every request of a keep-alive connection', async () => {
    const raw = await rawExchange(
      stack.port,
      'GET /echo/keepalive-1 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/keepalive-2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      stack.clients.alice,
    );
    expect(statuses(raw)).toEqual([200, 200]);
    const seen = stack.app.seen.filter((s) => s.url.startsWith('/echo/keepalive-'));
    expect(seen.map((s) => identityHeaders(s))).toEqual([injected('alice', 'bidder'), injected('alice', 'bidder')]);
  });

  it('keeps the identity on a resumed TLS session, and a resumed anonymous session stays anonymous', async () => {
    for (const [credentials, expected] of [
      [stack.clients.alice, injected('alice', 'bidder')],
      [undefined, []],
    ] as const) {
      const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
      const reused: boolean[] = [];
      for (const n of [1, 2]) {
        await new Promise<void>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port: stack.port,
              path: `/echo/resume-${n}`,
              agent,
              rejectUnauthorized: false,
              key: credentials?.keyPem,
              cert: credentials?.certPem,
            },
            (res) => {
              reused.push((res.socket as TLSSocket).isSessionReused());
              res.resume();
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
          req.end();
        });
      }
      agent.destroy();
      expect(reused).toEqual([false, true]);
      const seen = stack.app.seen.filter((s) => s.url.startsWith('/echo/resume-')).slice(-2);
      expect(seen.map((s) => identityHeaders(s))).toEqual([expected, expected]);
    }
  });

  it('preserves method, path with query, status, headers and body both ways', async () => {
    const res = await request(stack.port, {
      method: 'PUT',
      path: '/echo/preserve?q=1&r=%20',
      headers: { 'x-custom': 'one', 'content-type': 'text/plain', cookie: 'a=1' },
      body: 'hello body',
      credentials: stack.clients.alice,
    });
    expect(res.status).toBe(200);
    const echoed = JSON.parse(res.body.toString());
    expect(echoed).toMatchObject({ method: 'PUT', url: '/echo/preserve?q=1&r=%20', bodyBytes: 10 });
    const names = (echoed.rawHeaders as string[]).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['host', 'x-custom', 'content-type', 'cookie', 'content-length']));
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('relays the app status and headers, such as 404 from the example apps', async () => {
    const res = await request(stack.port, { path: '/no/such/route', credentials: stack.clients.alice });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
  });

  it('logs method, path without query, status, timing and caller, and nothing of bodies or query strings', async () => {
    await request(stack.port, { method: 'POST', path: '/echo/logged?secret=query-value', body: 'body-secret-value', credentials: stack.clients.alice });
    const line = stack.logs.find((l) => l.event === 'request' && l.path === '/echo/logged');
    expect(line).toMatchObject({ level: 'info', method: 'POST', status: 200, caller: 'alice' });
    expect(typeof line!.ms).toBe('number');
    const everything = JSON.stringify(stack.logs);
    expect(everything).not.toContain('query-value');
    expect(everything).not.toContain('body-secret-value');
    expect(everything).not.toContain('PRIVATE KEY');
  });
});
