import { type IncomingMessage, type Server as HttpServer, createServer as createHttpServer, request as httpRequest, Agent } from 'node:http';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { ManagedServer, type ManagedServerOptions } from '../../transport/managed-server';
import { clientIdentity, waitFor } from '../helpers/network-harness';

/*
 * The one managed server every listener uses (bridge, egress relay, ingress, egress proxy): its
 * limit, its idle timeout and its close, each pushed past its edge. Timings are asserted only
 * within generous bounds: a busy machine may be slow, never early.
 */

/** Servers started by a test, closed after it whatever happened. */
const started: ManagedServer[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  clients.splice(0).forEach((socket) => socket.destroy());
  await Promise.all(started.splice(0).map((managed) => managed.close()));
});

async function listen(server: Server, options: ManagedServerOptions): Promise<{ managed: ManagedServer; port: number }> {
  const managed = new ManagedServer(server, options);
  started.push(managed);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { managed, port: (server.address() as AddressInfo).port };
}

/** An echo server that records the sockets its own connection handler was given. */
function echoServer(): { server: Server; handled: Socket[] } {
  const handled: Socket[] = [];
  const server = createServer((socket) => {
    handled.push(socket);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  return { server, handled };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    clients.push(socket);
    socket.on('error', reject);
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

function echo(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write(text);
  });
}

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return !settled;
}

describe('the connection limit', () => {
  it('refuses a connection beyond it before the server’s handler sees it, counts it, and admits again once one closes', async () => {
    const { server, handled } = echoServer();
    const { managed, port } = await listen(server, { maxConnections: 2 });
    const first = await dial(port);
    const second = await dial(port);
    expect(await echo(first, 'one')).toBe('one');
    expect(await echo(second, 'two')).toBe('two');
    expect(managed.connections).toBe(2);

    const extra = await dial(port);
    extra.on('error', () => {});
    await closed(extra);
    expect(managed.refused).toBe(1);
    expect(handled).toHaveLength(2);
    expect(await echo(first, 'still served')).toBe('still served');

    first.destroy();
    await waitFor(() => managed.connections === 1, 'the closed connection to leave the count');
    const third = await dial(port);
    expect(await echo(third, 'three')).toBe('three');
    expect(managed.refused).toBe(1);
    expect(handled).toHaveLength(3);
  });

  it('lets onRefused answer the refused connection, telling it how many are served', async () => {
    const { server } = echoServer();
    const seen: number[] = [];
    const { managed, port } = await listen(server, {
      maxConnections: 1,
      onRefused: (socket, served) => {
        seen.push(served);
        socket.end(`busy: ${served} open\n`);
      },
    });
    await dial(port);
    const answers = await Promise.all(
      [0, 1, 2].map(async () => {
        const socket = await dial(port);
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        await closed(socket);
        return text;
      }),
    );
    expect(answers).toEqual(['busy: 1 open\n', 'busy: 1 open\n', 'busy: 1 open\n']);
    expect(seen).toEqual([1, 1, 1]);
    expect(managed.refused).toBe(3);
  });

  it('keeps an HTTP server’s requests from a refused connection', async () => {
    const requests: string[] = [];
    const server = createHttpServer((req, res) => {
      requests.push(req.url!);
      res.end('ok');
    });
    const { managed, port } = await listen(server, { maxConnections: 1 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, using: Agent) =>
      new Promise<number>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path, agent: using }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        })
          .on('error', reject)
          .end();
      });
    expect(await get('/kept', agent)).toBe(200);
    await expect(get('/refused', new Agent())).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(requests).toEqual(['/kept']);
    expect(managed.refused).toBe(1);
    agent.destroy();
  });

  it('refuses a TLS connection before its handshake', async () => {
    const { keyPem, certPem } = await clientIdentity('managed');
    const secured: unknown[] = [];
    const server = createTlsServer({ key: keyPem, cert: certPem }, (socket) => {
      secured.push(socket);
      socket.end('hello');
    });
    const { managed, port } = await listen(server, { maxConnections: 1 });
    const held = await dial(port); // a plain TCP connection that never starts its handshake holds the one place
    const refused = await new Promise<Error | undefined>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(undefined));
      socket.on('error', resolve);
    });
    // However the client learns of it: the handshake never happened.
    expect(['ECONNRESET', 'EPIPE']).toContain((refused as NodeJS.ErrnoException | undefined)?.code);
    expect(secured).toEqual([]);
    expect(managed.refused).toBe(1);
    held.destroy();
  });

  it.each([0, -1, 1.5, Number.NaN])('must be a positive integer, not %p', (maxConnections) => {
    expect(() => new ManagedServer(createServer(), { maxConnections })).toThrow(/maxConnections must be a positive integer/);
  });
});

describe('the idle timeout', () => {
  it('closes a connection with no byte either way, through onIdle, and keeps a busy one', async () => {
    const { server } = echoServer();
    const idled: Socket[] = [];
    const { managed, port } = await listen(server, {
      maxConnections: 10,
      idleTimeoutMs: 300,
      onIdle: (socket) => {
        idled.push(socket);
        socket.destroy();
      },
    });
    const quiet = await dial(port);
    const busy = await dial(port);
    busy.resume();
    const chatter = setInterval(() => busy.write('.'), 50);
    const started = Date.now();
    await closed(quiet);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Well past the timeout, the connection that kept sending is still served.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(busy.destroyed).toBe(false);
    expect(idled).toHaveLength(1);
    clearInterval(chatter);
    await closed(busy);
    expect(idled).toHaveLength(2);
    await waitFor(() => managed.connections === 0, 'both connections to leave the count');
  });

  it('bounds an HTTP request on a kept-alive connection: HTTP re-arms the timer to it after the keep-alive wait', async () => {
    const server: HttpServer = createHttpServer((req, res) => {
      if (req.url === '/quick') res.end('ok');
    });
    server.keepAliveTimeout = 60_000;
    const { port } = await listen(server, { maxConnections: 10, idleTimeoutMs: 400 });
    const socket = await dial(port);
    let answered = '';
    socket.on('data', (chunk: Buffer) => (answered += chunk));
    socket.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => answered.endsWith('ok'), 'the first response');
    // Never answered: only the idle timeout can end it.
    socket.write('GET /unanswered HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    await closed(socket);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(waited).toBeLessThan(30_000);
  });

  it('still bounds a socket an HTTP server handed over (CONNECT)', async () => {
    const server = createHttpServer();
    const tunnels: Socket[] = [];
    server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      tunnels.push(socket);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    });
    await listen(server, { maxConnections: 10, idleTimeoutMs: 300 });
    const socket = await dial((server.address() as AddressInfo).port);
    socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    await waitFor(() => tunnels.length === 1, 'the tunnel');
    await closed(tunnels[0]!);
  });

  it('must be a positive integer when given', () => {
    expect(() => new ManagedServer(createServer(), { maxConnections: 1, idleTimeoutMs: 0 })).toThrow(/idleTimeoutMs must be a positive integer/);
  });
});

describe('close()', () => {
  it('resolves promptly with no connection open, even with a long grace period', async () => {
    const { server } = echoServer();
    const { managed } = await listen(server, { maxConnections: 10, closeGraceMs: 60_000 });
    const started = Date.now();
    await managed.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.listening).toBe(false);
  });

  it('lets an active connection run for the grace period, then destroys it, and only then resolves', async () => {
    const { server } = echoServer();
    const { managed, port } = await listen(server, { maxConnections: 10, closeGraceMs: 500 });
    const client = await dial(port);
    client.on('error', () => {});
    const closing = managed.close();
    expect(managed.close()).toBe(closing);
    // Not accepting any more, but the connection in flight is still served.
    await expect(dial(port)).rejects.toThrow(/ECONNREFUSED/);
    expect(await echo(client, 'in flight')).toBe('in flight');
    expect(await pendingAfter(closing, 100)).toBe(true);
    const started = Date.now();
    await closing;
    expect(Date.now() - started).toBeLessThan(10_000);
    await closed(client);
  });

  it('resolves as soon as the last connection finishes within the grace period', async () => {
    const { server } = echoServer();
    const { managed, port } = await listen(server, { maxConnections: 10, closeGraceMs: 60_000 });
    const client = await dial(port);
    const started = Date.now();
    const closing = managed.close();
    setTimeout(() => client.end(), 200);
    await closing;
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('destroys every connection at once without a grace period, refused ones being answered included', async () => {
    const { server } = echoServer();
    const { managed, port } = await listen(server, { maxConnections: 1, onRefused: () => {} });
    const served = await dial(port);
    const refused = await dial(port);
    await waitFor(() => managed.refused === 1, 'the second connection to be refused');
    await managed.close();
    await Promise.all([closed(served), closed(refused)]);
  });

  it('ends tracked sockets with the connections, and a socket tracked after that at once', async () => {
    const { server: far } = echoServer();
    const { port: farPort } = await listen(far, { maxConnections: 10 });
    const { server } = echoServer();
    const { managed } = await listen(server, { maxConnections: 1 });
    const outbound = await dial(farPort);
    managed.track(outbound);
    expect(managed.connections).toBe(0);
    await managed.close();
    expect(outbound.destroyed).toBe(true);
    const late = await dial(farPort);
    managed.track(late);
    expect(late.destroyed).toBe(true);
  });

  it('closes an HTTP keep-alive connection between requests at once and lets a request in flight finish', async () => {
    let finish: (() => void) | undefined;
    const server = createHttpServer((req, res) => {
      if (req.url === '/slow') finish = () => res.end('finished');
      else res.end('quick');
    });
    const { managed, port } = await listen(server, { maxConnections: 10, closeGraceMs: 60_000 });
    const between = await dial(port);
    between.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => between.once('data', resolve));
    const inFlight = await dial(port);
    let answer = '';
    inFlight.on('data', (chunk) => (answer += chunk));
    inFlight.write('GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await waitFor(() => finish !== undefined, 'the slow request to arrive');

    const closing = managed.close();
    await closed(between);
    expect(await pendingAfter(closing, 100)).toBe(true);
    finish!();
    await closing;
    expect(answer).toMatch(/finished$/);
  });
});
