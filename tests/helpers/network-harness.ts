import type { IngressBinding } from '../../attestation/ingress-binding';
import { KeyObject, createHash, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { createApp } from './examples-app';
import { configDigest } from '../../contract/config-digest';
import { DevNsm } from '../../attestation/dev';
import { x509 } from '../../attestation/x509';
import type { LogEntry } from '../../contract/log';
import { type Ingress, type IngressOptions, startIngress } from '../../enclave/ingress';
import { type TlsIdentity, generateTlsIdentity } from '../../enclave/ingress/tls-identity';
import type { Address } from '../../transport/address';
import { fixtureConfig } from './fixtures';

/** Boot measurements of the test enclaves: any 48-byte values, with PCR0 non-zero so documents are not debug ones. */
export const PCRS = { 0: pcr(0xa0), 1: pcr(0xa1), 2: pcr(0xa2) };

export function pcr(fill: number): string {
  return Buffer.alloc(48, fill).toString('hex');
}

/** A scratch directory under the system's temporary directory, removed by the returned function. */
export function scratchDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-proxy-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A client's TLS identity, as `cloister keygen` would make it: a P-256 key and a self-signed certificate. */
export interface ClientIdentity {
  keyPem: string;
  certPem: string;
  /** The `key:` of a users entry: `sha256:` and the hex SHA-256 of the SPKI DER. */
  key: string;
  /** The public key as a JWK, for users entries that give the key that way. */
  jwk: Record<string, unknown>;
}

/**
 * A fresh client key and certificate, built here with @peculiar/x509 rather than with the code
 * under test; `extensions` may depend on the new key's SPKI DER (to bind an attestation to it).
 */
export async function clientIdentity(commonName: string, extensions: (spkiDer: Buffer) => Promise<x509.Extension[]> = async () => []): Promise<ClientIdentity> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const spkiDer = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: await extensions(spkiDer),
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  const certPem = cert.toString('pem');
  const spki = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return {
    keyPem,
    certPem,
    key: `sha256:${createHash('sha256').update(spki).digest('hex')}`,
    jwk: createPublicKey(certPem).export({ format: 'jwk' }) as Record<string, unknown>,
  };
}

/** What the app behind the ingress received, one entry per request. */
export interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  /** Filled in when the body has been read (echo and upload routes). */
  bodyBytes?: number;
  /** Trailer fields of a chunked body, filled in with `bodyBytes`. */
  rawTrailers?: string[];
}

/**
 * The app behind the ingress: `/echo…` answers with what it received, `/upload` hashes a streamed
 * body, `/download?bytes=N` streams N bytes (pausing at `?pauseAt=M` until `release()` is called),
 * `/hang` never answers,
 * and everything else is the real example apps of `createApp`. Every request is recorded in `seen`.
 */
export interface TestApp {
  address: Address;
  seen: Seen[];
  /** Bytes of the upload in progress received so far, readable while it streams. */
  uploadProgress: { bytes: number };
  /** URLs of `/hang` requests whose connection from the ingress was closed. */
  aborted: string[];
  /** Lets a paused download continue. */
  release(): void;
  close(): Promise<void>;
}

export async function startTestApp(socketPath: string, config: unknown): Promise<TestApp> {
  const express = createApp(config, { log: () => {} });
  const seen: Seen[] = [];
  const uploadProgress = { bytes: 0 };
  const aborted: string[] = [];
  let release = () => {};
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: Seen = { method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders] };
    seen.push(entry);
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname.startsWith('/echo')) {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        entry.bodyBytes = bytes;
        entry.rawTrailers = [...req.rawTrailers];
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: entry.method, url: entry.url, rawHeaders: entry.rawHeaders, bodyBytes: bytes }));
      });
    } else if (url.pathname === '/upload') {
      const hash = createHash('sha256');
      uploadProgress.bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        uploadProgress.bytes += c.length;
      });
      req.on('end', () => {
        entry.bodyBytes = uploadProgress.bytes;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ bytes: uploadProgress.bytes, sha256: hash.digest('hex') }));
      });
    } else if (url.pathname === '/hang') {
      // Never answers; records the request's URL when the ingress gives up on it.
      res.on('close', () => aborted.push(entry.url));
    } else if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes'));
      const pauseAt = Number(url.searchParams.get('pauseAt') ?? total);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      let sent = 0;
      const paused = new Promise<void>((resolve) => (release = resolve));
      const pump = async () => {
        while (sent < total) {
          if (sent >= pauseAt) await paused;
          const chunk = patternChunk(sent, Math.min(64 * 1024, total - sent, sent < pauseAt ? pauseAt - sent : total));
          sent += chunk.length;
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
      };
      void pump();
    } else {
      express(req, res);
    }
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    address: { kind: 'unix', path: socketPath },
    seen,
    uploadProgress,
    aborted,
    release: () => release(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic bytes for offset `start`, so a download can be checked without keeping a copy. */
export function patternChunk(start: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) chunk[i] = ((start + i) * 31 + 7) & 0xff;
  return chunk;
}

/** A running ingress in front of a `TestApp`, with the identities of DESIGN.md's sample users. */
export interface Stack {
  ingress: Ingress;
  port: number;
  nsm: DevNsm;
  tls: TlsIdentity;
  app: TestApp;
  configJson: string;
  binding: IngressBinding;
  /** alice (bidder), bob (bidder), jwkuser (tester, configured by JWK); stranger is in no entry. */
  clients: Record<'alice' | 'bob' | 'jwkuser' | 'stranger', ClientIdentity>;
  logs: LogEntry[];
  dir: string;
  /** Starts another ingress on the same NSM, TLS key and app, with other options. */
  another(options: Partial<IngressOptions>): Promise<Ingress & { port: number }>;
  close(): Promise<void>;
}

export async function startStack(options: Partial<IngressOptions> = {}): Promise<Stack> {
  const scratch = scratchDir();
  const [alice, bob, jwkuser, stranger] = await Promise.all(['alice', 'bob', 'jwkuser', 'stranger'].map((n) => clientIdentity(n)));
  const config = {
    ...fixtureConfig(),
    users: [
      { name: 'alice', role: 'bidder', key: alice!.key },
      { name: 'bob', role: 'bidder', key: bob!.key },
      { name: 'jwkuser', role: 'tester', key: jwkuser!.jwk },
    ],
  };
  const configJson = JSON.stringify(config);
  const nsm = await DevNsm.open({ dir: join(scratch.dir, 'nsm'), pcrs: PCRS });
  const tls = await generateTlsIdentity();
  const app = await startTestApp(join(scratch.dir, 'app.sock'), config);
  const binding = { config: configDigest(config), instance: randomBytes(16), results: randomBytes(32) };
  const logs: LogEntry[] = [];
  const started: Ingress[] = [];
  const start = async (extra: Partial<IngressOptions>) => {
    const ingress = await startIngress({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      app: app.address,
      tls,
      nsm,
      binding,
      configJson,
      users: config.users,
      enclaves: [],
      log: (entry) => logs.push(entry),
      ...options,
      ...extra,
    });
    started.push(ingress);
    return Object.assign(ingress, { port: (ingress.address as { port: number }).port });
  };
  const ingress = await start({});
  return {
    ingress,
    port: ingress.port,
    nsm,
    tls,
    app,
    configJson,
    binding,
    clients: { alice: alice!, bob: bob!, jwkuser: jwkuser!, stranger: stranger! },
    logs,
    dir: scratch.dir,
    another: start,
    close: async () => {
      await Promise.all(started.map((i) => i.close()));
      await app.close();
      scratch.remove();
    },
  };
}

/** A TLS client's key and certificate, or none for an anonymous client. */
export type Credentials = { keyPem: string; certPem: string } | undefined;

/**
 * Writes `bytes` exactly as given over a TLS connection (optionally with a client certificate)
 * and resolves with everything the server sent until it closed the connection.
 */
export function rawExchange(port: number, bytes: string | Buffer, credentials?: Credentials, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, key: credentials?.keyPem, cert: credentials?.certPem });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the ingress did not close the connection within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, timeoutMs);
    socket.on('secureConnect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // a reset after the answer still resolves with what was received
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** One HTTP/1.1 response read back from a raw exchange. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits what a server sent on one connection into its responses, framing each body by its
 * Content-Length or chunked encoding as a client would. Throws on anything else, so a test never
 * miscounts responses.
 */
export function parseResponses(raw: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0) throw new Error(`an incomplete response head: ${JSON.stringify(raw.slice(at, at + 200))}`);
    const [statusLine = '', ...lines] = raw.slice(at, headEnd).split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
    if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    at = headEnd + 4;
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const sizeEnd = raw.indexOf('\r\n', at);
        const size = parseInt(raw.slice(at, sizeEnd), 16);
        at = sizeEnd + 2;
        if (size === 0) {
          at = raw.indexOf('\r\n', at) + 2;
          break;
        }
        body += raw.slice(at, at + size);
        at += size + 2;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = raw.slice(at, at + length);
      at += length;
    }
    responses.push({ status: Number(status), headers, body });
  }
  return responses;
}

/** The status codes of every response in a raw exchange, in order. */
export function statuses(raw: string): number[] {
  return parseResponses(raw).map((r) => r.status);
}

export interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The certificate the server presented. */
  peerCertificate: ReturnType<TLSSocket['getPeerX509Certificate']>;
}

/** One HTTPS request on a fresh connection (no pooling, no session reuse). */
export function request(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: string | Buffer; credentials?: Credentials },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        key: options.credentials?.keyPem,
        cert: options.credentials?.certPem,
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const peerCertificate = (res.socket as TLSSocket).getPeerX509Certificate();
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), peerCertificate }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Every header (or trailer) the app received whose name could be read as `x-oblv-…`, as [lower-case name, value]. */
export function identityHeaders(seen: Seen): [string, string][] {
  const found: [string, string][] = [];
  const fields = [...seen.rawHeaders, ...(seen.rawTrailers ?? [])];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    if (name.replace(/_/g, '-').startsWith('x-oblv')) found.push([name, fields[i + 1]!]);
  }
  return found;
}

/** The exact identity headers the ingress injects for a caller. */
export const injected = (name: string, role: string): [string, string][] => [
  ['x-oblv-user-name', name],
  ['x-oblv-user-role', role],
];

/** Resolves once `condition()` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
