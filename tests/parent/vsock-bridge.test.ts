import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bridge, startBridge } from '../../parent/bridge';
import type { LogEntry } from '../../contract/log';
import { waitFor } from '../helpers/network-harness';

/*
 * The bridge's bounds (the same whatever the transport; here tcp -> unix, as in local mode):
 * a cap on connections relayed at once and an idle timeout.
 */
let tmp: string;
let bridge: Bridge | undefined;
const targets: Socket[] = [];
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-bridge-bounds-'));
});
afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
  targets.splice(0).forEach((s) => s.destroy());
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function echoTarget(name: string): Promise<{ path: string; close(): Promise<void> }> {
  const path = join(tmp, name);
  const server = createServer((socket) => {
    targets.push(socket);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const dial = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.on('error', reject);
  });
const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
const echo = (socket: Socket, text: string) =>
  new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write(text);
  });

test('connections beyond maxConnections are closed at accept and logged', async () => {
  const target = await echoTarget('cap.sock');
  const logs: LogEntry[] = [];
  bridge = await startBridge({
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    target: { kind: 'unix', path: target.path },
    log: (e) => logs.push(e),
    maxConnections: 1,
  });
  const port = (bridge.address as { port: number }).port;
  const first = await dial(port);
  expect(await echo(first, 'one')).toBe('one');
  const second = await dial(port);
  second.on('error', () => {});
  await closed(second);
  expect(logs).toContainEqual({ level: 'warn', event: 'bridge_connection_dropped', reason: 'maxConnections' });
  expect(await echo(first, 'still here')).toBe('still here');
  first.destroy();
  await target.close();
});

test('a relayed connection idle for idleTimeoutMs is closed on both sides', async () => {
  const target = await echoTarget('idle.sock');
  const logs: LogEntry[] = [];
  bridge = await startBridge({
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    target: { kind: 'unix', path: target.path },
    log: (e) => logs.push(e),
    idleTimeoutMs: 200,
  });
  const client = await dial((bridge.address as { port: number }).port);
  client.on('error', () => {});
  expect(await echo(client, 'hello')).toBe('hello');
  const started = Date.now();
  await closed(client);
  expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  expect(logs).toContainEqual({ level: 'info', event: 'bridge_idle_closed' });
  await target.close();
});

test('an idle connection whose client has already ended its half is cut off on the target side too, not left to linger', async () => {
  const path = join(tmp, 'half.sock');
  const held: Socket[] = [];
  const silent = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.resume();
    held.push(socket);
  });
  await new Promise<void>((resolve) => silent.listen(path, resolve));
  bridge = await startBridge({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'unix', path }, log: () => {}, idleTimeoutMs: 200 });
  const client = await dial((bridge.address as { port: number }).port);
  client.on('error', () => {});
  await waitFor(() => held.length === 1, 'the bridge to reach the target');
  client.end();
  await closed(client);
  // The target has the client's FIN already; only writing tells whether the bridge still holds its side.
  const started = Date.now();
  const writing = setInterval(() => held[0]!.writable && held[0]!.write('still there?'), 50);
  try {
    await closed(held[0]!);
  } finally {
    clearInterval(writing);
  }
  expect(Date.now() - started).toBeLessThan(15_000); // well before the 30 s a cleanly ended pair may linger
  await new Promise((resolve) => silent.close(resolve));
});

test('bounds must be positive integers', async () => {
  await expect(
    startBridge({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, target: { kind: 'unix', path: '/nowhere' }, maxConnections: 0 }),
  ).rejects.toThrow(/maxConnections must be a positive integer/);
});
