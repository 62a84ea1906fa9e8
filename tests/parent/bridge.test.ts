import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { rootFromPem, verifyAttestation } from '../../attestation';
import type { LogEntry } from '../../contract/log';
import { type Bridge, startBridge } from '../../parent/bridge';
import { vsockSupport } from '../../transport/vsock';
import { type Stack, request, startStack, waitFor } from '../helpers/network-harness';

let stack: Stack;
const logs: LogEntry[] = [];
const log = (entry: LogEntry) => logs.push(entry);
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const LOCAL = { kind: 'tcp' as const, host: '127.0.0.1', port: 0 };
const portOf = (bridge: Bridge) => (bridge.address as { port: number }).port;

/** A unix-socket server for the bridge to forward to; `onConnection` gets each accepted socket. */
async function target(
  name: string,
  onConnection: (socket: Socket) => void,
  options: { allowHalfOpen?: boolean } = {},
): Promise<{ server: Server; path: string; close(): Promise<void> }> {
  const path = join(stack.dir, name);
  const server = createServer(options, onConnection);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, path, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Connects to the bridge and resolves with the socket once connected (it closes when the bridge ends or resets it). */
function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.on('error', reject);
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('bridge', () => {
  it('carries TLS end to end: the client sees the ingress’s own key and is identified by its certificate', async () => {
    const ingress = await stack.another({ listen: { kind: 'unix', path: join(stack.dir, 'ingress.sock') } });
    const bridge = await startBridge({ listen: LOCAL, target: ingress.address, log });
    const hello = await request(portOf(bridge), { path: '/hello', credentials: stack.clients.alice });
    expect(hello.status).toBe(200);
    expect(JSON.parse(hello.body.toString())).toMatchObject({ name: 'alice', role: 'bidder' });

    const nonce = randomBytes(16);
    const attested = await request(portOf(bridge), { path: `/.well-known/cloister/attestation?nonce=${nonce.toString('hex')}` });
    const presented = attested.peerCertificate!.publicKey.export({ type: 'spki', format: 'der' });
    expect(presented).toEqual(stack.tls.spkiDer);
    verifyAttestation(attested.body, { root: rootFromPem(stack.nsm.pki.rootCertificatePem), at: Date.now(), policy: { nonce, publicKey: presented } });

    await bridge.close();
    await ingress.close();
  });

  it('forwards bytes exactly and passes a half-close on while the other direction keeps flowing', async () => {
    // Reads until the client's FIN, then answers with the digest of everything it got and ends.
    const digest = await target(
      'digest.sock',
      (socket) => {
        const hash = createHash('sha256');
        socket.on('data', (c) => hash.update(c));
        socket.on('end', () => socket.end(hash.digest('hex')));
      },
      { allowHalfOpen: true },
    );
    const bridge = await startBridge({ listen: LOCAL, target: { kind: 'unix', path: digest.path }, log });
    const client = await dial(portOf(bridge));
    const payload = randomBytes(5 * 1024 * 1024);
    let answer = '';
    client.on('data', (c) => (answer += c));
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.end(payload);
    await ended;
    expect(answer).toBe(createHash('sha256').update(payload).digest('hex'));
    await closed(client);
    await bridge.close();
    await digest.close();
  });

  it('keeps backpressure: a target that stops reading stops the client, and nothing is lost when it resumes', async () => {
    let received = 0;
    let accepted: Socket | undefined;
    const slow = await target('slow.sock', (socket) => {
      accepted = socket;
      socket.pause();
      socket.on('data', (c) => (received += c.length));
    });
    const bridge = await startBridge({ listen: LOCAL, target: { kind: 'unix', path: slow.path }, log });
    const client = await dial(portOf(bridge));
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 7);
    let written = 0;
    let stalled = false;
    const writing = (async () => {
      while (written < total) {
        written += chunk.length;
        if (!client.write(chunk)) {
          const drained = new Promise((resolve) => client.once('drain', resolve));
          const timeout = new Promise((resolve) => setTimeout(() => resolve('stalled'), 500));
          if ((await Promise.race([drained, timeout])) === 'stalled') {
            stalled = true;
            await drained;
          }
        }
      }
      client.end();
    })();
    await waitFor(() => stalled, 'the client to be held back', 10_000);
    // Socket buffers along the way hold some megabytes; a bridge that read without limit would have taken it all.
    expect(written).toBeLessThan(total / 2);
    accepted!.resume();
    await writing;
    await waitFor(() => received === total, 'every byte to arrive', 10_000);
    await closed(client);
    await bridge.close();
    await slow.close();
  });

  it('closes the client at once when the target cannot be reached, and logs why', async () => {
    const bridge = await startBridge({ listen: LOCAL, target: { kind: 'unix', path: join(stack.dir, 'nobody-here.sock') }, log });
    const started = Date.now();
    const client = await dial(portOf(bridge));
    const error = new Promise<NodeJS.ErrnoException>((resolve) => client.on('error', resolve));
    await closed(client);
    expect(Date.now() - started).toBeLessThan(1_000);
    // A reset, not a clean end the client could take for a complete exchange.
    expect((await error).code).toBe('ECONNRESET');
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', event: 'bridge_connect_failed', code: 'ENOENT' }));
    await bridge.close();
  });

  it('resets the client when the target resets, and cuts the target off when the client resets', async () => {
    const accepted: Socket[] = [];
    const peer = createServer((socket) => {
      socket.on('error', () => {});
      accepted.push(socket);
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const bridge = await startBridge({ listen: LOCAL, target: { kind: 'tcp', host: '127.0.0.1', port: (peer.address() as { port: number }).port }, log });

    const first = await dial(portOf(bridge));
    const firstError = new Promise<NodeJS.ErrnoException>((resolve) => first.on('error', resolve));
    await waitFor(() => accepted.length === 1, 'the first connection to reach the target');
    accepted[0]!.resetAndDestroy();
    expect((await firstError).code).toBe('ECONNRESET');
    await closed(first);

    const second = await dial(portOf(bridge));
    await waitFor(() => accepted.length === 2, 'the second connection to reach the target');
    second.resetAndDestroy();
    await closed(accepted[1]!);

    await bridge.close();
    await new Promise((resolve) => peer.close(resolve));
  });

  it('closes every relayed connection when closed itself', async () => {
    const idle = await target('idle.sock', (socket) => socket.on('error', () => {}));
    const bridge = await startBridge({ listen: LOCAL, target: { kind: 'unix', path: idle.path }, log });
    const client = await dial(portOf(bridge));
    client.on('error', () => {});
    await bridge.close();
    await closed(client);
    await idle.close();
  });

  it('listens on a unix socket left behind by a process that died, but not over a live one or a regular file', async () => {
    const path = join(stack.dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(existsSync(path)).toBe(true);
    const sink = await target('sink.sock', (socket) => socket.resume());
    const bridge = await startBridge({ listen: { kind: 'unix', path }, target: { kind: 'unix', path: sink.path }, log });
    await expect(startBridge({ listen: { kind: 'unix', path }, target: { kind: 'unix', path: sink.path }, log })).rejects.toThrow(/EADDRINUSE/);
    await bridge.close();
    await expect(startBridge({ listen: { kind: 'unix', path: __filename }, target: { kind: 'unix', path: sink.path }, log })).rejects.toThrow(/EADDRINUSE/);
    expect(existsSync(__filename)).toBe(true);
    await sink.close();
  });

  it('refuses a vsock target before listening where vsock is not available (see vsock.test.ts otherwise)', async () => {
    const starting = startBridge({ listen: LOCAL, target: { kind: 'vsock', cid: 16, port: 5000 }, log });
    if (vsockSupport().ok) await (await starting).close();
    else await expect(starting).rejects.toThrow(/vsock/);
  });
});
