import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startForwardProxy } from '../../../enclave/egress/forward-proxy';
import { startRelay } from '../../../parent/egress-relay/relay';
import type { LogEntry } from '../../../contract/log';
import { encodeTunnelRequest } from '../../../contract/egress-protocol';
import { waitFor } from '../../helpers/network-harness';

/*
 * The bounds of the egress pair, kept by the managed server under each: the relay's tunnel limit
 * (answered BUSY, which the proxy turns into a 503 to retry) and the idle timeout of a tunnel,
 * which must end both of its sockets even when one direction has already ended.
 */
let tmp: string;
/** A TCP target that accepts, never writes, and keeps its end open after the peer's FIN. */
let silent: { server: Server; port: number; accepted: Socket[] };
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-egress-bounds-'));
  const accepted: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.resume();
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  silent = { server, port: (server.address() as AddressInfo).port, accepted };
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  silent.accepted.forEach((socket) => socket.destroy());
  await new Promise((resolve) => silent.server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

async function relayOn(name: string, options: { maxConnections?: number; idleTimeoutMs?: number }, log: LogEntry[] = []) {
  const relay = await startRelay({
    listen: { kind: 'unix', path: join(tmp, name) },
    outbound: [{ host: '127.0.0.1', port: silent.port }],
    log: (e) => log.push(e),
    ...options,
  });
  cleanups.push(() => relay.close());
  return relay;
}

/** Opens a tunnel to the silent target straight through the relay; resolves once the relay said ok. */
function tunnel(path: string): Promise<{ socket: Socket; reply: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path, allowHalfOpen: true });
    socket.on('error', reject);
    socket.once('data', (chunk: Buffer) => resolve({ socket, reply: chunk.toString() }));
    socket.write(encodeTunnelRequest({ host: '127.0.0.1', port: silent.port }));
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

/**
 * Resolves once nothing holds the target's connection open any more. The target already has the
 * client's FIN, so only writing tells: a socket still open at the other end would read what it
 * writes, while a closed one answers with a reset.
 */
async function abandoned(target: Socket): Promise<void> {
  const writing = setInterval(() => target.writable && target.write('still there?'), 50);
  try {
    await closed(target);
  } finally {
    clearInterval(writing);
  }
}

describe('the egress relay', () => {
  it('answers BUSY beyond its tunnel limit, logs it, and the proxy turns it into a 503 to retry', async () => {
    const log: LogEntry[] = [];
    const relay = await relayOn('busy.sock', { maxConnections: 1 }, log);
    const first = await tunnel(join(tmp, 'busy.sock'));
    expect(JSON.parse(first.reply)).toEqual({ ok: true });
    const second = await tunnel(join(tmp, 'busy.sock'));
    expect(JSON.parse(second.reply)).toMatchObject({ ok: false, error: 'BUSY' });
    expect(log).toContainEqual({ level: 'warn', event: 'egress_relay_busy', open: 1 });

    const proxy = await startForwardProxy({ relay: relay.address, outbound: [{ host: '127.0.0.1', port: silent.port }], log: () => {} });
    cleanups.push(() => proxy.close());
    const answer = await new Promise<string>((resolve) => {
      const socket = connect((proxy.address as { port: number }).port, '127.0.0.1');
      let text = '';
      socket.on('data', (c) => (text += c));
      socket.on('close', () => resolve(text));
      socket.write(`CONNECT 127.0.0.1:${silent.port} HTTP/1.1\r\n\r\n`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toContain('EGRESS_RELAY_BUSY');
    first.socket.destroy();
  });

  it('closes an idle tunnel on both sides, even one whose client has already ended its half', async () => {
    await relayOn('idle.sock', { idleTimeoutMs: 300 });
    const before = silent.accepted.length;
    const { socket } = await tunnel(join(tmp, 'idle.sock'));
    socket.on('error', () => {});
    await waitFor(() => silent.accepted.length === before + 1, 'the relay to reach the target');
    socket.end();
    await closed(socket);
    await abandoned(silent.accepted[before]!);
  });
});

describe('the egress proxy', () => {
  it('closes an idle CONNECT tunnel on both sides, even one whose client has already ended its half', async () => {
    const relay = await relayOn('proxy-idle.sock', {});
    const proxy = await startForwardProxy({ relay: relay.address, outbound: [{ host: '127.0.0.1', port: silent.port }], log: () => {}, idleTimeoutMs: 300 });
    cleanups.push(() => proxy.close());
    const before = silent.accepted.length;
    const client = connect({ port: (proxy.address as { port: number }).port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    let answer = '';
    client.on('data', (c) => (answer += c));
    client.write(`CONNECT 127.0.0.1:${silent.port} HTTP/1.1\r\n\r\n`);
    await waitFor(() => answer.startsWith('HTTP/1.1 200'), 'the tunnel to open');
    await waitFor(() => silent.accepted.length === before + 1, 'the relay to reach the target');
    // Bytes that are not TLS pass the proxy's first look; then the client ends its half and falls silent.
    client.end('hello');
    await closed(client);
    await abandoned(silent.accepted[before]!);
  });

  it('refuses connections beyond its limit at once', async () => {
    const relay = await relayOn('proxy-limit.sock', {});
    const proxy = await startForwardProxy({ relay: relay.address, outbound: [], log: () => {}, maxConnections: 1 });
    cleanups.push(() => proxy.close());
    const port = (proxy.address as { port: number }).port;
    const held = connect(port, '127.0.0.1');
    held.on('error', () => {});
    await new Promise((resolve) => held.once('connect', resolve));
    const refused = connect(port, '127.0.0.1');
    refused.on('error', () => {});
    let answer = '';
    refused.on('data', (c) => (answer += c));
    refused.write('GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n');
    await closed(refused);
    expect(answer).toBe('');
    held.destroy();
  });
});
