import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Server, createServer, request } from 'node:https';
import { type AddressInfo, type Socket, connect, createServer as createTcpServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { DevNsm } from '../../attestation/dev';
import { parsePolicy, type ClientPolicy } from '../../client';
import { encodeIngressBinding } from '../../attestation/ingress-binding';
import { x509 } from '../../attestation/x509';

export const PCR0 = 'a0'.repeat(48);
export const PCR1 = 'a1'.repeat(48);
export const PCR2 = 'a2'.repeat(48);
export const BOOT_PCRS = { 0: PCR0, 1: PCR1, 2: PCR2 };

/** The configuration every fake enclave runs unless told otherwise. */
export const CONFIG = { users: [{ name: 'alice', role: 'member', key: `sha256:${'0'.repeat(64)}` }] };
export const CONFIG_DIGEST = configDigest(CONFIG);
export const PCR16 = pcr16For(CONFIG_DIGEST).toString('hex');

/** A TLS key and self-signed certificate, as an ingress makes at boot. */
export interface TlsMaterial {
  key: string;
  cert: string;
  /** SPKI DER of the key. */
  spki: Buffer;
}

export async function tlsMaterial(cn: string): Promise<TlsMaterial> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: certificate.toString('pem'),
    spki: Buffer.from(certificate.publicKey.rawData),
  };
}

/** An HTTPS server on 127.0.0.1 that records every byte it receives, decrypted. */
export interface RecordingServer {
  url: string;
  port: number;
  tls: TlsMaterial;
  /** Everything received on every connection, as latin1 text, in arrival order per connection. */
  received(): string;
  /** "METHOD path" of every request parsed, in order. */
  requests: string[];
  /** TLS connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

async function startRecording(tls: TlsMaterial, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<RecordingServer> {
  const chunks: Buffer[][] = [];
  const requests: string[] = [];
  const server: Server = createServer({ key: tls.key, cert: tls.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const received: Buffer[] = [];
    chunks.push(received);
    // A 'data' listener makes the HTTP parser read through JS too, so both see every byte.
    socket.on('data', (chunk: Buffer) => received.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    tls,
    received: () => chunks.map((c) => Buffer.concat(c).toString('latin1')).join(''),
    requests,
    connections: () => chunks.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FakeEnclaveOptions {
  nsm: DevNsm;
  tls?: TlsMaterial;
  /** The configuration it binds (default CONFIG). */
  config?: unknown;
  /** Serve this recorded document instead of a fresh one (a replay). */
  replay?: Uint8Array;
}

export interface FakeEnclave extends RecordingServer {
  instance: Buffer;
}

/**
 * The ingress's attestation contract on a plain HTTPS server: the attestation endpoint (documents
 * binding its TLS key, config digest and instance id), the config endpoint, and on every other
 * path an echo of the method, path, content type, body and the caller's key (`sha256:` of its
 * client certificate); /teapot answers 418, /close closes the connection after answering.
 */
export async function startFakeEnclave(options: FakeEnclaveOptions): Promise<FakeEnclave> {
  const tls = options.tls ?? (await tlsMaterial('fake-enclave'));
  const config = options.config ?? CONFIG;
  const instance = Buffer.from(createHash('sha256').update(tls.spki).digest().subarray(0, 16));
  const userData = encodeIngressBinding({ config: configDigest(config), instance, results: randomBytes(32) });
  const server = await startRecording(tls, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    if (url.pathname === '/.well-known/cloister/attestation') {
      const nonce = Buffer.from(url.searchParams.get('nonce') ?? '', 'hex');
      const document = options.replay ? Promise.resolve(options.replay) : options.nsm.attestation({ nonce, publicKey: tls.spki, userData });
      void document.then((bytes) => res.writeHead(200, { 'content-type': 'application/cbor' }).end(Buffer.from(bytes)));
      return;
    }
    if (url.pathname === '/.well-known/cloister/config') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(config));
      return;
    }
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerX509Certificate();
      const client = peer
        ? `sha256:${createHash('sha256')
            .update(peer.publicKey.export({ type: 'spki', format: 'der' }))
            .digest('hex')}`
        : null;
      const status = url.pathname === '/teapot' ? 418 : 200;
      if (url.pathname === '/close') res.setHeader('connection', 'close');
      res.writeHead(status, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          method: req.method,
          path: req.url,
          client,
          contentType: req.headers['content-type'] ?? null,
          body: Buffer.concat(body).toString('utf8'),
        }),
      );
    });
  });
  return { ...server, instance };
}

/**
 * A man in the middle: its own TLS key, and every request relayed to `target`, the attestation
 * request included, so it serves the real enclave's genuine, fresh document.
 */
export async function startMitm(target: RecordingServer): Promise<RecordingServer> {
  return startRecording(await tlsMaterial('mitm'), (req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, rejectUnauthorized: false, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

/**
 * A TCP relay on 127.0.0.1 that sends its n-th connection to `ports[n % ports.length]`: one
 * origin behind which connections land on different servers, as a switching attacker arranges.
 */
export async function startRouter(ports: number[]): Promise<{ url: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((client) => {
    const upstream = connect(ports[(sockets.length / 2) % ports.length]!, '127.0.0.1');
    sockets.push(client, upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A development NSM measured with BOOT_PCRS whose PCR16 holds CONFIG's digest, locked, as the
 * supervisor leaves it. `now` shifts its clock (documents dated in the past).
 */
export async function bootNsm(dir: string, now?: () => number): Promise<DevNsm> {
  const nsm = await DevNsm.open({ dir, pcrs: BOOT_PCRS, now });
  await nsm.extendPcr(16, CONFIG_DIGEST);
  await nsm.lockPcr(16);
  return nsm;
}

/** The policy file fields that accept a fake enclave on `nsm`'s root. */
export const goodPolicyJson = (nsm: DevNsm) => ({
  root: nsm.pki.rootCertificatePath,
  pcrs: { 0: [PCR0], 1: [PCR1], 2: [PCR2], 16: [PCR16] },
  config: CONFIG_DIGEST.toString('hex'),
});

/** A policy accepting a fake enclave on `nsm`'s root, with `changes` applied to its JSON. */
export const policyFor = (nsm: DevNsm, changes: Record<string, unknown> = {}): ClientPolicy => parsePolicy({ ...goodPolicyJson(nsm), ...changes }, '/');
