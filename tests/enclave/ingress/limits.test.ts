import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { type Stack, parseResponses, patternChunk, rawExchange, request, startStack, waitFor } from '../../helpers/network-harness';
import { REPLAY_WINDOW_MS } from '../../../enclave/ingress/forward';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const MB = 1024 * 1024;

describe('ingress limits', () => {
  it('refuses a declared body over the limit with 413 before the app sees it, and accepts one at the limit', async () => {
    const small = await stack.another({ limits: { maxBodyBytes: 1000 } });
    const at = await request(small.port, { method: 'POST', path: '/echo/at-limit', body: 'x'.repeat(1000), credentials: stack.clients.alice });
    expect(at.status).toBe(200);
    const over = await request(small.port, { method: 'POST', path: '/echo/over-limit', body: 'x'.repeat(1001), credentials: stack.clients.alice });
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body.toString())).toMatchObject({ error: 'BODY_TOO_LARGE' });
    expect(over.headers.connection).toBe('close');
    expect(stack.app.seen.filter((s) => s.url === '/echo/over-limit')).toEqual([]);
    await small.close();
  });

  it('cuts a chunked body at the limit with 413 and does not let the app finish reading it', async () => {
    const small = await stack.another({ limits: { maxBodyBytes: 1000 } });
    const chunk = 'y'.repeat(600);
    const raw = await rawExchange(
      small.port,
      `POST /echo/chunked-over HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
      stack.clients.alice,
    );
    expect(parseResponses(raw).map((r) => r.status)).toEqual([413]);
    for (const seen of stack.app.seen.filter((s) => s.url === '/echo/chunked-over')) expect(seen.bodyBytes).toBeUndefined();
    await small.close();
  });

  it('refuses a request head over the header limit with 431', async () => {
    const small = await stack.another({ limits: { maxHeaderBytes: 2048 } });
    const raw = await rawExchange(small.port, `GET /echo/big-head HTTP/1.1\r\nHost: x\r\nX-Big: ${'z'.repeat(4000)}\r\n\r\n`, stack.clients.alice);
    expect(parseResponses(raw).map((r) => r.status)).toEqual([431]);
    expect(stack.app.seen.filter((s) => s.url === '/echo/big-head')).toEqual([]);
    await small.close();
  });

  it('cuts off a client that dribbles its headers, with 408', async () => {
    const strict = await stack.another({ limits: { headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
    const started = Date.now();
    const raw = await new Promise<string>((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: strict.port,
        rejectUnauthorized: false,
        key: stack.clients.alice.keyPem,
        cert: stack.clients.alice.certPem,
      });
      const chunks: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      socket.on('secureConnect', () => {
        socket.write('GET /echo/dribble HTTP/1.1\r\nHost: x\r\n');
        timer = setInterval(() => socket.writable && socket.write('X-A: b\r\n'), 100);
      });
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(parseResponses(raw).map((r) => r.status)).toEqual([408]);
    expect(stack.app.seen.filter((s) => s.url === '/echo/dribble')).toEqual([]);
    await strict.close();
  });

  it('cuts off a client that dribbles its body', async () => {
    const strict = await stack.another({ limits: { headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
    const started = Date.now();
    const raw = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: strict.port, rejectUnauthorized: false });
      const chunks: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      socket.on('secureConnect', () => {
        socket.write('POST /echo/slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
        timer = setInterval(() => socket.writable && socket.write('a'), 100);
      });
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
    });
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(parseResponses(raw).map((r) => r.status)).toEqual([408]);
    // The app had started reading the body; it never got all of it.
    for (const seen of stack.app.seen.filter((s) => s.url === '/echo/slow-body')) expect(seen.bodyBytes).toBeUndefined();
    await strict.close();
  });

  it('cuts off a client that never completes its TLS handshake', async () => {
    const strict = await stack.another({ limits: { headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const socket = netConnect(strict.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => resolve());
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    await strict.close();
  });

  it('closes a keep-alive connection left idle past its timeout', async () => {
    const brisk = await stack.another({ limits: { keepAliveTimeoutMs: 300 } });
    const socket = tlsConnect({ host: '127.0.0.1', port: brisk.port, rejectUnauthorized: false });
    socket.on('error', () => {});
    let answered = false;
    socket.on('data', () => (answered = true));
    socket.on('secureConnect', () => socket.write('GET /echo/idle HTTP/1.1\r\nHost: x\r\n\r\n'));
    await waitFor(() => answered, 'the answer');
    const idleSince = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - idleSince).toBeLessThan(2_000);
    await brisk.close();
  });

  it('closes a connection beyond maxConnections before its handshake, and serves again once a place is free', async () => {
    const small = await stack.another({ limits: { maxConnections: 1 } });
    const holder = netConnect(small.port, '127.0.0.1');
    holder.on('error', () => {});
    await new Promise((resolve) => holder.once('connect', resolve));
    await expect(request(small.port, { path: '/echo/beyond-the-limit', credentials: stack.clients.alice })).rejects.toThrow(
      /ECONNRESET|EPIPE|socket disconnected/,
    );
    expect(stack.app.seen.filter((s) => s.url === '/echo/beyond-the-limit')).toEqual([]);
    holder.destroy();
    // The ingress sees the holder's close a moment after it is sent: until then the place is taken.
    let status: number | undefined;
    for (let attempt = 0; status !== 200 && attempt < 20; attempt++) {
      status = await request(small.port, { path: '/echo/within-the-limit', credentials: stack.clients.alice }).then(
        (r) => r.status,
        () => undefined,
      );
    }
    expect(status).toBe(200);
    await small.close();
  });

  it('lets a response in flight finish when closed, while accepting no new connection', async () => {
    const closing = await stack.another({});
    const downloading = new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: closing.port,
        rejectUnauthorized: false,
        key: stack.clients.alice.keyPem,
        cert: stack.clients.alice.certPem,
      });
      const chunks: Buffer[] = [];
      socket.on('secureConnect', () => socket.write('GET /download?bytes=200000&pauseAt=1000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    await waitFor(() => stack.app.seen.some((s) => s.url.startsWith('/download?bytes=200000')), 'the download to start');
    const closed = closing.close();
    await expect(request(closing.port, { path: '/echo/after-close', credentials: stack.clients.alice })).rejects.toThrow(/ECONNREFUSED/);
    stack.app.release();
    const response = await downloading;
    expect(response.subarray(0, 12).toString()).toBe('HTTP/1.1 200');
    expect(response.length).toBeGreaterThan(200_000);
    await closed;
  });

  it('refuses invalid limits before listening', async () => {
    await expect(stack.another({ limits: { maxBodyBytes: -1 } })).rejects.toThrow(/maxBodyBytes/);
    await expect(stack.another({ limits: { headersTimeoutMs: 1.5 } })).rejects.toThrow(/headersTimeoutMs/);
  });
});

describe('when the app is down', () => {
  it('answers a request with a body 503 with Retry-After at once while the app is not ready, and still serves attestation', async () => {
    const notReady = await stack.another({ isAppReady: () => false });
    const started = Date.now();
    const res = await request(notReady.port, { method: 'POST', path: '/echo/x', body: 'x', credentials: stack.clients.alice });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'APP_UNAVAILABLE', message: expect.any(String) });
    expect((await request(notReady.port, { path: '/.well-known/cloister/attestation' })).status).toBe(200);
    await notReady.close();
  });

  it('holds a GET while the app restarts and sends it once the app is back', async () => {
    let ready = false;
    const restarting = await stack.another({ isAppReady: () => ready });
    const started = Date.now();
    const pending = request(restarting.port, { path: '/hello', credentials: stack.clients.alice });
    setTimeout(() => (ready = true), 500);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await restarting.close();
  });

  it('answers a GET 503 with Retry-After when the app is not back within the replay window', async () => {
    const notReady = await stack.another({ isAppReady: () => false });
    const started = Date.now();
    const res = await request(notReady.port, { path: '/hello', credentials: stack.clients.alice });
    expect(Date.now() - started).toBeGreaterThanOrEqual(REPLAY_WINDOW_MS - 50);
    expect(Date.now() - started).toBeLessThan(REPLAY_WINDOW_MS + 2_000);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    await notReady.close();
  }, 15_000);

  it('answers 503 quickly when nothing listens at the app socket, or the app port', async () => {
    for (const app of [
      { kind: 'unix' as const, path: join(stack.dir, 'nobody.sock') },
      { kind: 'tcp' as const, host: '127.0.0.1', port: 1 },
    ]) {
      const orphan = await stack.another({ app });
      const started = Date.now();
      const res = await request(orphan.port, { method: 'POST', path: '/echo/down', body: 'x'.repeat(10_000), credentials: stack.clients.alice });
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'APP_UNAVAILABLE' });
      await orphan.close();
    }
    expect(stack.logs).toContainEqual(expect.objectContaining({ level: 'error', event: 'app_unreachable' }));
  });

  it('answers 502/503 with JSON when the app drops the connection before answering', async () => {
    const path = join(stack.dir, 'rude.sock');
    const rude = createHttpServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => rude.listen(path, resolve));
    const ingress = await stack.another({ app: { kind: 'unix', path } });
    const res = await request(ingress.port, { path: '/anything', credentials: stack.clients.alice });
    expect([502, 503]).toContain(res.status);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    await ingress.close();
    await new Promise((resolve) => rude.close(resolve));
  });

  it('breaks the client response when the app dies mid-body, instead of leaving it waiting', async () => {
    const path = join(stack.dir, 'dying.sock');
    const dying = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    await new Promise<void>((resolve) => dying.listen(path, resolve));
    const ingress = await stack.another({ app: { kind: 'unix', path } });
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port: ingress.port, path: '/', rejectUnauthorized: false, agent: false }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('ended'));
        res.on('error', () => resolve('broken'));
        res.on('aborted', () => resolve('broken'));
      });
      req.on('error', () => resolve('broken'));
      req.end();
    });
    expect(outcome).toBe('broken');
    expect(Date.now() - started).toBeLessThan(2_000);
    await ingress.close();
    await new Promise((resolve) => dying.close(resolve));
  });
});

describe('streaming', () => {
  it('aborts the app request when the client goes away', async () => {
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: stack.port, rejectUnauthorized: false });
      socket.on('secureConnect', () => socket.write('GET /hang?id=client-left HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.on('error', () => {});
      void waitFor(() => stack.app.seen.some((s) => s.url === '/hang?id=client-left'), 'the request to reach the app').then(() => {
        socket.destroy();
        resolve();
      });
    });
    await waitFor(() => stack.app.aborted.includes('/hang?id=client-left'), 'the app request to be aborted', 2_000);
  });

  it('streams a 20 MB upload: the app receives its start before the client has sent the rest', async () => {
    const total = 20 * MB;
    const expected = createHash('sha256');
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: stack.port,
          method: 'POST',
          path: '/upload',
          rejectUnauthorized: false,
          agent: false,
          key: stack.clients.alice.keyPem,
          cert: stack.clients.alice.certPem,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      void (async () => {
        for (let sent = 0; sent < total;) {
          // Halfway, wait for the app to have most of what was sent: an ingress that buffered
          // the body until its end would never let that happen.
          if (sent === total / 2) await waitFor(() => stack.app.uploadProgress.bytes >= total / 4, 'the upload to reach the app while it streams', 10_000);
          const chunk = patternChunk(sent, 256 * 1024);
          expected.update(chunk);
          sent += chunk.length;
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(reject);
    });
    const { status, body } = await response;
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ bytes: total, sha256: expected.digest('hex') });
  });

  it('streams a 20 MB download: the client receives its start before the app has sent the rest', async () => {
    const total = 20 * MB;
    let received = 0;
    let intact = true;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: stack.port, path: `/download?bytes=${total}&pauseAt=${total / 2}`, rejectUnauthorized: false, agent: false },
        (res) => {
          res.on('data', (c: Buffer) => {
            if (intact && !c.equals(patternChunk(received, c.length))) intact = false;
            received += c.length;
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
      // The app holds back the second half until the client has most of the first: an ingress
      // that buffered the response until its end would never deliver it.
      waitFor(() => received >= total / 4, 'the download to reach the client while it streams', 10_000)
        .then(() => stack.app.release())
        .catch(reject);
    });
    expect(status).toBe(200);
    expect(received).toBe(total);
    expect(intact).toBe(true);
  });
});
