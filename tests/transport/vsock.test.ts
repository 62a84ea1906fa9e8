import { type Socket, connect, createServer } from 'node:net';
import { type Bridge, startBridge } from '../../parent/bridge';
import type { LogEntry } from '../../contract/log';
import { openConnection } from '../../transport/connect';
import { listenOn } from '../../transport/listen';
import { VMADDR_CID_ANY, VsockError, adoptSocket, connectVsock, listenVsock, socketPair, vsockSupport } from '../../transport/vsock';

/*
 * The vsock transport on this kind of machine: a virtio vsock transport without loopback, so
 * listening works (local CID 3; ports >= 5008), connecting to the local CID fails at once with
 * ENODEV and to CID 1 with ETIMEDOUT. Never connect to CID 2 (this VM's host). The data path of
 * adopted descriptors is exercised on AF_UNIX pairs made by the same addon.
 */
const support = vsockSupport();
const addonLoads = support.ok || !/not available/.test(support.reason);
if (!support.ok) {
  console.warn(`vsock tests skipped: ${support.reason}`);
}
const describeVsock = support.ok ? describe : describe.skip;
const describeAddon = addonLoads ? describe : describe.skip;

/** Ports for this file only (other test files use others): 5020-5029. */
const PORT = { any: 5020, local: 5021, inUse: 5022, bridge: 5023, bridgeTarget: 5024, ingress: 5025 };

const closeServer = (server: { close(cb: () => void): unknown }) => new Promise<void>((resolve) => server.close(() => resolve()));

describeVsock('vsock listening', () => {
  test('a net.Server listens on vsock (any CID) and reports the address it was given', async () => {
    const server = createServer();
    const bound = await listenOn(server, { kind: 'vsock', cid: VMADDR_CID_ANY, port: PORT.any });
    expect(bound).toEqual({ kind: 'vsock', cid: VMADDR_CID_ANY, port: PORT.any });
    expect(server.listening).toBe(true);
    await closeServer(server);
  });

  test('listening on the local CID works, and a port in use is a clear EADDRINUSE', async () => {
    const cid = (support as { localCid?: number }).localCid;
    expect(typeof cid).toBe('number');
    const server = createServer();
    await listenVsock(server, cid!, PORT.local);
    expect(server.listening).toBe(true);
    const again = createServer();
    const error = await listenVsock(again, cid!, PORT.local).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VsockError);
    expect(error).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
    expect((error as Error).message).toMatch(new RegExp(`cannot listen on vsock://${cid}:${PORT.local}: the port is already in use`));
    await closeServer(server);
    // The port is free again once closed.
    await listenVsock(again, cid!, PORT.local);
    await closeServer(again);
  });
});

describeVsock('vsock connecting', () => {
  test('connecting to CID 1 fails with a clear timeout error', async () => {
    const started = Date.now();
    const error = await connectVsock(1, 5030, { timeoutMs: 700 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VsockError);
    expect(error).toMatchObject({ code: 'ETIMEDOUT', syscall: 'connect' });
    expect((error as Error).message).toBe('cannot connect to vsock://1:5030: timed out after 700 ms: nothing at CID 1 answered (ETIMEDOUT, connect)');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test('connecting to the local CID fails at once with a clear "no such device" error', async () => {
    const cid = (support as { localCid?: number }).localCid!;
    const started = Date.now();
    const error = await openConnection({ kind: 'vsock', cid, port: 5030 }, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VsockError);
    expect(error).toMatchObject({ code: 'ENODEV' });
    expect((error as Error).message).toMatch(
      /^cannot connect to vsock:\/\/\d+:5030: no such device: .*connecting to the local CID is not possible on this host/,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test('an aborted connect rejects with the reason and leaves nothing running', async () => {
    const controller = new AbortController();
    const pending = connectVsock(1, 5030, { timeoutMs: 2_000, signal: controller.signal });
    controller.abort(new Error('no longer wanted'));
    await expect(pending).rejects.toThrow('no longer wanted');
  });
});

describeVsock('bridge and ingress over vsock', () => {
  let bridge: Bridge | undefined;
  afterEach(async () => {
    await bridge?.close();
    bridge = undefined;
  });

  test('the bridge listens on a vsock address', async () => {
    bridge = await startBridge({
      listen: { kind: 'vsock', cid: VMADDR_CID_ANY, port: PORT.bridge },
      target: { kind: 'tcp', host: '127.0.0.1', port: 9 },
      log: () => {},
    });
    expect(bridge.address).toEqual({ kind: 'vsock', cid: VMADDR_CID_ANY, port: PORT.bridge });
  });

  test('a bridge to an unreachable vsock target closes the client and logs the reason', async () => {
    const logs: LogEntry[] = [];
    const cid = (support as { localCid?: number }).localCid!;
    bridge = await startBridge({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      target: { kind: 'vsock', cid, port: PORT.bridgeTarget },
      log: (entry) => logs.push(entry),
    });
    const client = connect((bridge.address as { port: number }).port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    client.on('error', () => {});
    client.resume();
    await closed;
    expect(logs).toContainEqual({ level: 'warn', event: 'bridge_connect_failed', code: 'ENODEV' });
  });
});

/** Resolves with everything `socket` sends until it ends. */
function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

describeAddon('descriptor adoption (AF_UNIX pairs from the addon)', () => {
  const pair = (allowHalfOpen = false): [Socket, Socket] => {
    const [a, b] = socketPair();
    return [adoptSocket(a, { allowHalfOpen }), adoptSocket(b, { allowHalfOpen })];
  };

  test('data flows both ways and both sides close', async () => {
    const [a, b] = pair();
    const fromA = readAll(b);
    const fromB = readAll(a);
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    a.end(big);
    b.end('pong');
    expect((await fromA).equals(big)).toBe(true);
    expect((await fromB).toString()).toBe('pong');
    await Promise.all([a, b].map((s) => new Promise((resolve) => (s.destroyed ? resolve(null) : s.once('close', resolve)))));
  });

  test('backpressure: a paused reader makes write() return false, and drain fires after resume', async () => {
    const [a, b] = pair();
    b.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let written = 0;
    let accepted = true;
    while (accepted && written < 256 * 1024 * 1024) {
      accepted = a.write(chunk);
      written += chunk.length;
    }
    expect(accepted).toBe(false);
    // Nothing is read while paused, so the writer stays blocked.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.writableNeedDrain).toBe(true);
    let received = 0;
    b.on('data', (data: Buffer) => (received += data.length));
    const drained = new Promise<void>((resolve) => a.once('drain', () => resolve()));
    b.resume();
    await drained;
    a.end();
    await new Promise<void>((resolve) => b.once('end', () => resolve()));
    expect(received).toBe(written);
    b.destroy();
  });

  test('half-close: end() on one side is an end on the other, which can still write back', async () => {
    const [a, b] = pair(true);
    const fromA = readAll(b);
    const fromB = readAll(a);
    a.end('request');
    expect((await fromA).toString()).toBe('request');
    expect(b.writable).toBe(true);
    b.write('response, ');
    b.end('after the peer ended');
    expect((await fromB).toString()).toBe('response, after the peer ended');
    await Promise.all([a, b].map((s) => new Promise((resolve) => (s.destroyed ? resolve(null) : s.once('close', resolve)))));
  });

  test('an adopted socket is an ordinary net.Socket: destroy on one side is an end on the other', async () => {
    const [a, b] = pair();
    const ended = readAll(b);
    a.write('x');
    a.destroy();
    expect((await ended).toString()).toBe('x');
  });
});
