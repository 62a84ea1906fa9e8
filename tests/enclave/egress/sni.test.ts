import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, type Server as TlsServer, connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import fc from 'fast-check';
import { MalformedClientHello, firstRecordLength, parseClientHelloSni } from '../../../enclave/egress/client-hello';
import { type ForwardProxy, startForwardProxy } from '../../../enclave/egress/forward-proxy';
import { type Relay, startRelay } from '../../../parent/egress-relay/relay';
import { generateP256Key, selfSign } from '../../../enclave/ingress/self-signed';
import type { LogEntry } from '../../../contract/log';
import type { Address } from '../../../transport/address';

let tmp: string;
let tls: TlsServer; // listed as localhost:port: an echo server over TLS
let tlsPort: number;
let secureConnections = 0;
let raw: Server; // listed as 127.0.0.1:port: counts the bytes that reach it
let rawPort: number;
let rawBytes = 0;
let relay: Relay;
let proxy: ForwardProxy;
const proxyLog: LogEntry[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-egress-sni-'));
  const { keyPem, certPem } = selfSign(await generateP256Key(), { commonName: 'localhost', validityMs: 3_600_000 });
  tls = createTlsServer({ key: keyPem, cert: certPem }, (socket) => socket.pipe(socket));
  tls.on('secureConnection', () => secureConnections++);
  tls.on('tlsClientError', () => {});
  raw = createNetServer((socket) => {
    socket.on('data', (chunk: Buffer) => (rawBytes += chunk.length));
    socket.on('error', () => {});
  });
  await Promise.all([new Promise<void>((r) => tls.listen(0, '127.0.0.1', r)), new Promise<void>((r) => raw.listen(0, '127.0.0.1', r))]);
  tlsPort = (tls.address() as AddressInfo).port;
  rawPort = (raw.address() as AddressInfo).port;
  const outbound = [
    { host: 'localhost', port: tlsPort },
    { host: '127.0.0.1', port: rawPort },
  ];
  const relayAddress: Address = { kind: 'unix', path: join(tmp, 'egress.sock') };
  relay = await startRelay({ listen: relayAddress, outbound, log: () => {} });
  proxy = await startForwardProxy({ relay: relayAddress, outbound, log: (e) => proxyLog.push(e), clientHelloTimeoutMs: 500 });
});

afterAll(async () => {
  await proxy?.close();
  await relay?.close();
  tls?.close();
  raw?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A socket tunnelled to `authority` through the proxy, once it answered 200. */
function tunnel(authority: string): Promise<Socket> {
  const { port } = proxy.address as { port: number };
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      if (!head.subarray(0, 12).equals(Buffer.from('HTTP/1.1 200'))) return reject(new Error(head.toString('latin1')));
      if (head.length > end + 4) socket.unshift(head.subarray(end + 4));
      resolve(socket);
    };
    socket.on('data', onData).on('error', reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

/** A TLS session over `socket` with `servername` ('' sends none): 'ok' with the echo, or how it failed. */
function handshake(socket: Socket, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const session: TLSSocket = tlsConnect({ socket, servername, rejectUnauthorized: false });
    const timer = setTimeout(() => (session.destroy(), resolve('timeout')), 3_000);
    const done = (outcome: string) => {
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    session.once('secureConnect', () => {
      session.write('ping');
      session.once('data', (d: Buffer) => done(`ok ${d.toString()}`));
    });
    session.on('error', () => done('error'));
    session.on('close', () => done('closed'));
  });
}

/** Resolves once `socket` has closed. */
const closed = (socket: Socket) => new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())));
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('the egress checks the TLS server name of a CONNECT tunnel', () => {
  it('a real tls.connect whose SNI names the CONNECT target reaches the listed TLS server', async () => {
    expect(await handshake(await tunnel(`localhost:${tlsPort}`), 'localhost')).toBe('ok ping');
    // Case and one trailing dot do not matter, as in the allowlist.
    expect(await handshake(await tunnel(`LocalHost.:${tlsPort}`), 'LOCALHOST.')).toBe('ok ping');
  });

  it('a mismatching SNI is refused: the connection closes and the target gets no TLS session', async () => {
    const before = { secure: secureConnections, log: proxyLog.length };
    expect(await handshake(await tunnel(`localhost:${tlsPort}`), 'evil.example')).not.toMatch(/^ok/);
    await settle();
    expect(secureConnections).toBe(before.secure);
    const refusal = proxyLog.slice(before.log).find((e) => e.event === 'egress_refused');
    expect(refusal).toEqual({ level: 'warn', event: 'egress_refused', kind: 'connect', error: 'SNI_MISMATCH', host: 'localhost', port: tlsPort });
  });

  it('not a byte of a refused ClientHello reaches the target', async () => {
    const before = rawBytes;
    const socket = await tunnel(`127.0.0.1:${rawPort}`);
    const outcome = handshake(socket, 'evil.example');
    await closed(socket);
    await settle();
    expect(await outcome).not.toMatch(/^ok/);
    expect(rawBytes).toBe(before);
  });

  it('a ClientHello without SNI, and bytes that are not TLS, pass', async () => {
    let before = rawBytes;
    const noSni = await tunnel(`127.0.0.1:${rawPort}`);
    const session = tlsConnect({ socket: noSni, servername: '', rejectUnauthorized: false }).on('error', () => {});
    for (let i = 0; i < 50 && rawBytes === before; i++) await settle();
    expect(rawBytes).toBeGreaterThan(before);
    session.destroy();

    before = rawBytes;
    const plain = await tunnel(`127.0.0.1:${rawPort}`);
    plain.write('SSH-2.0-test\r\n');
    for (let i = 0; i < 50 && rawBytes === before; i++) await settle();
    expect(rawBytes).toBe(before + 14);
    plain.destroy();
  });

  it('a malformed or incomplete TLS record is refused without forwarding a byte', async () => {
    const before = { bytes: rawBytes, log: proxyLog.length };
    const bad = await tunnel(`127.0.0.1:${rawPort}`);
    bad.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00]));
    await closed(bad);
    const slow = await tunnel(`127.0.0.1:${rawPort}`);
    slow.write(Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00, 0x01])); // 256 bytes announced, 1 sent, then nothing
    await closed(slow);
    await settle();
    expect(rawBytes).toBe(before.bytes);
    const errors = proxyLog
      .slice(before.log)
      .filter((e) => e.event === 'egress_refused')
      .map((e) => e.error);
    expect(errors).toEqual(['SNI_MALFORMED', 'SNI_MALFORMED']);
  });
});

/** The first TLS record Node's `tls.connect` sends for `servername`, caught by a raw TCP server. */
async function captureClientHello(servername: string): Promise<Buffer> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const caught = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (socket) => {
        let got = Buffer.alloc(0);
        socket.on('error', () => {});
        socket.on('data', (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          const length = firstRecordLength(got);
          if (length !== undefined && got.length >= length) {
            socket.destroy();
            resolve(got.subarray(0, length));
          }
        });
        socket.on('close', () => reject(new Error('closed before a whole record')));
      });
    });
    const client = tlsConnect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername }).on('error', () => {});
    try {
      return await caught;
    } finally {
      client.destroy();
    }
  } finally {
    server.close();
  }
}

/** Only the parser's own error, or a result: never a RangeError or TypeError from reading past the end. */
function parsesOrRefuses(bytes: Buffer): void {
  try {
    const name = parseClientHelloSni(bytes);
    expect(name === undefined || typeof name === 'string').toBe(true);
  } catch (e) {
    expect(e).toBeInstanceOf(MalformedClientHello);
  }
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => [...labels, 'example'].join('.'));

describe('the ClientHello parser', () => {
  it('finds the name in ClientHellos built by Node', async () => {
    await fc.assert(
      fc.asyncProperty(hostName, async (name) => {
        expect(parseClientHelloSni(await captureClientHello(name))).toBe(name);
      }),
      { numRuns: 25 },
    );
    expect(parseClientHelloSni(await captureClientHello(''))).toBeUndefined();
  });

  it('never throws anything but MalformedClientHello on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => parsesOrRefuses(Buffer.from(bytes))),
      { numRuns: 2_000 },
    );
    // Random bytes behind a plausible header, so the parse gets past it.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (bytes) => {
        const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
        header.writeUInt16BE(bytes.length, 3);
        parsesOrRefuses(Buffer.concat([header, Buffer.from([1]), Buffer.from(bytes).subarray(1)]));
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws anything but MalformedClientHello on corrupted real ClientHellos', async () => {
    const hello = await captureClientHello('api.example.com');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(hello.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(hello.length),
        (edits, cut) => {
          const bytes = Buffer.from(hello);
          for (const [at, value] of edits) bytes[at] = value;
          parsesOrRefuses(bytes.subarray(0, Math.max(cut, 1)));
          parsesOrRefuses(bytes);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
