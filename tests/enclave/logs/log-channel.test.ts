import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogChannel } from '../../../enclave/logs/log-channel';
import { waitFor } from '../../helpers/network-harness';

let dir: string;
let path: string;
const servers: Server[] = [];
const channels: LogChannel[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-log-channel-'));
  path = join(dir, 'logs.sock');
});

afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close(100)));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

/** A sink on `path` keeping what it receives; `reading: false` accepts and never reads. */
async function sink(reading = true): Promise<{ text(): string; sockets: Socket[] }> {
  let text = '';
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    if (!reading) socket.pause();
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  return { text: () => text, sockets };
}

function channel(maxBufferBytes: number, flushDelayMs?: number): LogChannel {
  const c = new LogChannel({ sink: { kind: 'unix', path }, maxBufferBytes, reconnect: { initialMs: 10, maxMs: 50 }, flushDelayMs });
  channels.push(c);
  return c;
}

const line = (i: number) => `{"level":"info","event":"n","i":${i}}\n`;
/** The received lines: the `i` of each numbered one, and the sum of the `log.dropped` counts. */
function tally(text: string): { delivered: number[]; dropped: number } {
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { event: string; i?: number; count?: number });
  return {
    delivered: lines.filter((l) => l.event === 'n').map((l) => l.i!),
    dropped: lines.filter((l) => l.event === 'log.dropped').reduce((n, l) => n + l.count!, 0),
  };
}

describe('the log channel', () => {
  it('never waits for a sink that is not there: lines are kept within the bound, the rest counted and reported when it comes', async () => {
    const c = channel(4096);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 20_000; i++) c.write(line(i));
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1_000);

    const received = await sink();
    await waitFor(() => tally(received.text()).delivered.length + tally(received.text()).dropped === 20_000, 'every line delivered or counted');
    const { delivered, dropped } = tally(received.text());
    // The first lines fitted; they arrive in order, after the count of those that did not.
    expect(received.text().startsWith('{"level":"warn"')).toBe(true);
    expect(delivered).toEqual([...Array(delivered.length).keys()]);
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.length * line(0).length).toBeLessThanOrEqual(4096);
    expect(dropped).toBe(20_000 - delivered.length);
  });

  it('keeps writes fast while the sink does not read, and reports the drops once it reads again', async () => {
    const received = await sink(false);
    const c = channel(64 * 1024);
    await waitFor(() => received.sockets.length === 1, 'the channel connected');
    const written = 100_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < written; i++) {
      c.write(line(i));
      // Let the channel try to send in between, as it would in a running process.
      if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(3_000);

    received.sockets[0]!.resume();
    const accounted = () => tally(received.text()).delivered.length + tally(received.text()).dropped;
    await waitFor(() => accounted() === written, 'every line delivered or counted', 10_000);
    const { delivered, dropped } = tally(received.text());
    expect(dropped).toBeGreaterThan(0);
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    // And the channel flows again.
    c.write(line(written));
    await waitFor(() => tally(received.text()).delivered.includes(written), 'a line written after the sink read again');
  });

  it('sends lines written close together in one write, none later than the flush delay, and a full chunk at once', async () => {
    const received = await sink();
    const c = channel(1024 * 1024, 200);
    await waitFor(() => received.sockets.length === 1, 'the channel connected');
    const chunks: string[] = [];
    received.sockets[0]!.on('data', (chunk: string) => chunks.push(chunk));

    const started = Date.now();
    for (let i = 0; i < 10; i++) c.write(line(i));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(chunks).toEqual([]);
    await waitFor(() => tally(chunks.join('')).delivered.length === 10, 'the lines after the delay');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200 - 5);
    expect(chunks).toHaveLength(1);

    // 64 KiB of lines is a chunk: it goes at once, without waiting for the delay.
    chunks.length = 0;
    const sentAt = Date.now();
    for (let i = 0; i < Math.ceil((64 * 1024) / line(0).length); i++) c.write(line(i));
    await waitFor(() => chunks.join('').length >= 64 * 1024, 'a full chunk');
    expect(Date.now() - sentAt).toBeLessThan(200);
  });

  it('reconnects to a sink that went away and came back', async () => {
    const first = await sink();
    const c = channel(64 * 1024);
    c.write(line(1));
    await waitFor(() => tally(first.text()).delivered.includes(1), 'the first line');
    await new Promise((resolve) => servers.pop()!.close(resolve));
    c.write(line(2)); // may be lost with the connection, or kept for the next one
    const second = await sink();
    c.write(line(3));
    await waitFor(() => tally(second.text()).delivered.includes(3), 'a line after the sink came back', 5_000);
  });

  it('closes at once when the sink is gone, and sends what is buffered when it is there', async () => {
    const away = channel(1024);
    away.write(line(0));
    const started = Date.now();
    await away.close(5_000);
    expect(Date.now() - started).toBeLessThan(1_000);

    const received = await sink();
    const c = channel(1024 * 1024);
    await waitFor(() => received.sockets.length === 1, 'the channel connected');
    for (let i = 0; i < 1000; i++) c.write(line(i));
    await c.close(5_000);
    expect(tally(received.text()).delivered).toHaveLength(1000);
  });
});
