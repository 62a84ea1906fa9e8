import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Server, type Socket, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationError } from '../../attestation';
import { DevNsm, DevPki } from '../../attestation/dev';
import { ClientError, attest, fetchAttestation } from '../../client';
import {
  BOOT_PCRS,
  CONFIG_DIGEST,
  type FakeEnclave,
  PCR0,
  type RecordingServer,
  bootNsm,
  policyFor,
  startFakeEnclave,
  startMitm,
  tlsMaterial,
} from './fake-enclave';

const ATTESTATION_GET = /^GET \/\.well-known\/cloister\/attestation\?nonce=[0-9a-f]{64}$/;

let dir: string;
let nsm: DevNsm;
let enclave: FakeEnclave;
const servers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-attest-'));
  nsm = await bootNsm(join(dir, 'dev'));
  enclave = await startFakeEnclave({ nsm });
  servers.push(enclave);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function started<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  servers.push(await server);
  return servers.at(-1) as T;
}

/** The requests `server` received while `run` ran. */
async function requestsDuring(server: RecordingServer, run: () => Promise<unknown>): Promise<string[]> {
  const before = server.requests.length;
  await run().catch(() => undefined);
  return server.requests.slice(before);
}

describe('attest', () => {
  it('verifies the server: its document, the key it presented, the configuration it binds and its instance', async () => {
    const server = await attest(`${enclave.url}/some/path?q=1`, policyFor(nsm));
    expect(server.url).toBe(enclave.url);
    expect(server.spki).toEqual(enclave.tls.spki);
    expect(Buffer.from(server.document.publicKey!)).toEqual(enclave.tls.spki);
    expect(server.document.pcrs.get(0)).toBe(PCR0);
    expect(server.document.moduleId).toBe(nsm.moduleId);
    expect(server.configDigest).toBe(CONFIG_DIGEST.toString('hex'));
    expect(server.instanceId).toBe(enclave.instance.toString('hex'));
  });

  it('sends nothing but one attestation GET, with a fresh 32-byte nonce each time', async () => {
    const requests = await requestsDuring(enclave, async () => {
      await attest(enclave.url, policyFor(nsm));
      await attest(enclave.url, policyFor(nsm));
    });
    expect(requests).toHaveLength(2);
    for (const line of requests) expect(line).toMatch(ATTESTATION_GET);
    expect(requests[0]).not.toBe(requests[1]);
  });

  it('accepts any configuration when the policy names none, and still reports the one bound', async () => {
    const policy = policyFor(nsm);
    delete policy.configDigest;
    expect((await attest(enclave.url, policy)).configDigest).toBe(CONFIG_DIGEST.toString('hex'));
  });

  it('refuses a PCR that differs: PCR_MISMATCH', async () => {
    const policy = policyFor(nsm, { pcrs: { 0: ['b0'.repeat(48)] } });
    await expect(attest(enclave.url, policy)).rejects.toMatchObject({ name: 'AttestationError', code: 'PCR_MISMATCH' });
  });

  it('refuses another configuration: USER_DATA_MISMATCH', async () => {
    const policy = policyFor(nsm, { config: 'cc'.repeat(48) });
    await expect(attest(enclave.url, policy)).rejects.toMatchObject({ code: 'USER_DATA_MISMATCH', message: expect.stringContaining('cc'.repeat(48)) });
  });

  it('refuses a document that chains to another root: BAD_CHAIN', async () => {
    const other = await DevPki.open({ dir: join(dir, 'other-root') });
    const policy = policyFor(nsm, { root: other.rootCertificatePath });
    await expect(attest(enclave.url, policy)).rejects.toMatchObject({ code: 'BAD_CHAIN' });
  });

  it('refuses a stale document: STALE', async () => {
    const stale = await bootNsm(join(dir, 'stale'), () => Date.now() - 10 * 60_000);
    const server = await started(startFakeEnclave({ nsm: stale }));
    await expect(attest(server.url, policyFor(stale, { maxAgeSeconds: 300 }))).rejects.toMatchObject({ code: 'STALE' });
    // The same server passes a policy whose maximum age covers its clock.
    await expect(attest(server.url, policyFor(stale, { maxAgeSeconds: 3600 }))).resolves.toBeDefined();
  });

  it('refuses a replayed document, genuine but made for an earlier nonce: NONCE_MISMATCH', async () => {
    const recorded = await fetchAttestation(enclave.url);
    const replaying = await started(startFakeEnclave({ nsm, tls: enclave.tls, replay: recorded.bytes }));
    await expect(attest(replaying.url, policyFor(nsm))).rejects.toMatchObject({ code: 'NONCE_MISMATCH' });
  });

  it("refuses a man in the middle relaying the enclave's fresh document: PUBLIC_KEY_MISMATCH, having sent only the GET", async () => {
    const mitm = await started(startMitm(enclave));
    const seen = await requestsDuring(mitm, async () => {
      await expect(attest(mitm.url, policyFor(nsm))).rejects.toMatchObject({ code: 'PUBLIC_KEY_MISMATCH' });
    });
    expect(seen).toEqual([expect.stringMatching(ATTESTATION_GET)]);
  });

  it('refuses a debug-mode enclave unless the policy allows debug: DEBUG_MODE', async () => {
    const debug = await started(startFakeEnclave({ nsm: new DevNsm({ pki: nsm.pki, pcrs: BOOT_PCRS, debug: true }) }));
    const zero = '0'.repeat(96);
    await expect(attest(debug.url, policyFor(nsm, { pcrs: { 0: zero } }))).rejects.toMatchObject({ code: 'DEBUG_MODE' });
    await expect(attest(debug.url, policyFor(nsm, { pcrs: { 0: zero }, allowDebug: true }))).resolves.toBeDefined();
  });

  it('refuses a server without the attestation endpoint: NO_ATTESTATION', async () => {
    const tls = await tlsMaterial('plain');
    const plain = createHttpsServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.writeHead(404).end('not found'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    servers.push({
      close: () =>
        new Promise((resolve) => {
          plain.closeAllConnections();
          plain.close(() => resolve());
        }),
    });
    const url = `https://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    await expect(attest(url, policyFor(nsm))).rejects.toMatchObject({ name: 'ClientError', code: 'NO_ATTESTATION', message: expect.stringContaining('404') });
  });

  it('refuses a document larger than any attestation document: NO_ATTESTATION', async () => {
    const big = await started(startFakeEnclave({ nsm, replay: Buffer.alloc(20_000, 0x84) }));
    await expect(attest(big.url, policyFor(nsm))).rejects.toMatchObject({ code: 'NO_ATTESTATION', message: expect.stringContaining('16384') });
  });

  it('refuses garbage as a document: a typed AttestationError, not a crash', async () => {
    const junk = await started(startFakeEnclave({ nsm, replay: Buffer.from('not cbor at all') }));
    const error = await attest(junk.url, policyFor(nsm)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttestationError);
  });

  it('fails with UNREACHABLE when nothing listens, and BAD_URL for a URL that is not https:', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(attest(`https://127.0.0.1:${port}`, policyFor(nsm))).rejects.toMatchObject({ code: 'UNREACHABLE' });
    await expect(attest('http://127.0.0.1:1', policyFor(nsm))).rejects.toMatchObject({ code: 'BAD_URL' });
    await expect(attest('not a url', policyFor(nsm))).rejects.toBeInstanceOf(ClientError);
  });

  it('gives up on a silent server: TIMEOUT', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    servers.push({
      close: () =>
        new Promise((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    });
    const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    await expect(attest(url, policyFor(nsm), { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
