import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import type { DevNsm } from '../../attestation/dev';
import { DevPki } from '../../attestation/dev';
import {
  AttestedAgent,
  type AttestedServer,
  type ClientIdentity,
  type ClientPolicy,
  attestedDispatcher,
  fetchAttestation,
  generateIdentity,
  loadIdentity,
} from '../../client';
import { type FakeEnclave, type RecordingServer, bootNsm, policyFor, startFakeEnclave, startMitm, startRouter } from './fake-enclave';

const ATTESTATION_GET = /^GET \/\.well-known\/cloister\/attestation\?nonce=[0-9a-f]{64}$/;

interface Call {
  policy: ClientPolicy;
  identity?: ClientIdentity;
  body?: string;
  onAttested?: (server: AttestedServer) => void;
}
interface Echo {
  status: number;
  json: { method: string; path: string; client: string | null; body: string };
}
/** Sends requests to `urls` one after the other, or all at once, through one attested client. */
type Client = (urls: string[], call: Call, parallel?: boolean) => Promise<Echo[]>;

const viaAgent: Client = async (urls, call, parallel) => {
  const agent = new AttestedAgent({ policy: call.policy, identity: call.identity, onAttested: call.onAttested });
  const send = (url: string) =>
    new Promise<Echo>((resolve, reject) => {
      const req = request(url, { method: call.body === undefined ? 'GET' : 'POST', agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      });
      req.on('error', reject);
      req.end(call.body);
    });
  try {
    return parallel ? await Promise.all(urls.map(send)) : await sequentially(urls, send);
  } finally {
    agent.destroy();
  }
};

const viaFetch: Client = async (urls, call, parallel) => {
  const dispatcher = attestedDispatcher({ policy: call.policy, identity: call.identity, onAttested: call.onAttested });
  const send = async (url: string): Promise<Echo> => {
    try {
      const res = await fetch(url, { dispatcher, method: call.body === undefined ? 'GET' : 'POST', body: call.body });
      return { status: res.status, json: (await res.json()) as Echo['json'] };
    } catch (e) {
      // fetch reports every connection failure as "fetch failed", the reason as its cause.
      throw (e as Error).cause ?? e;
    }
  };
  try {
    return parallel ? await Promise.all(urls.map(send)) : await sequentially(urls, send);
  } finally {
    await dispatcher.destroy();
  }
};

async function sequentially<T>(urls: string[], send: (url: string) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const url of urls) results.push(await send(url));
  return results;
}

let dir: string;
let nsm: DevNsm;
let enclave: FakeEnclave;
let identity: ClientIdentity;
const servers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-connections-'));
  nsm = await bootNsm(join(dir, 'dev'));
  enclave = await startFakeEnclave({ nsm });
  servers.push(enclave);
  await generateIdentity('alice', join(dir, 'alice'));
  identity = loadIdentity(join(dir, 'alice'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function started<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  servers.push(await server);
  return servers.at(-1) as T;
}

/** The requests each server received while `run` ran. */
async function requestsDuring(watched: RecordingServer[], run: () => Promise<unknown>): Promise<string[][]> {
  const before = watched.map((s) => s.requests.length);
  await run();
  return watched.map((s, i) => s.requests.slice(before[i]));
}

describe.each([
  ['AttestedAgent with https.request', viaAgent],
  ['attestedDispatcher with fetch', viaFetch],
])('%s', (_name, client) => {
  it('sends the request, body included, to an attested server, and anonymously without an identity', async () => {
    const [echo] = await client([`${enclave.url}/echo`], { policy: policyFor(nsm), body: 'hello enclave' });
    expect(echo).toMatchObject({ status: 200, json: { method: 'POST', path: '/echo', client: null, body: 'hello enclave' } });
    // What the refusal tests rely on: the recording sees request bodies.
    expect(enclave.received()).toContain('hello enclave');
  });

  it("presents the identity's client certificate: the server sees its key", async () => {
    const [echo] = await client([`${enclave.url}/whoami`], { policy: policyFor(nsm), identity });
    expect(echo!.json.client).toBe(identity.keyDigest);
  });

  it('attests once for many new connections while the document is young, and again once it is too old', async () => {
    // /close answers with Connection: close, so each request needs a new connection.
    const urls = [`${enclave.url}/close`, `${enclave.url}/close`, `${enclave.url}/close`];
    const attested: AttestedServer[] = [];
    const connectionsBefore = enclave.connections();
    const [young] = await requestsDuring([enclave], () => client(urls, { policy: policyFor(nsm), onAttested: (s) => attested.push(s) }));
    expect(young!.filter((r) => ATTESTATION_GET.test(r))).toHaveLength(1);
    expect(enclave.connections() - connectionsBefore).toBe(4);
    expect(attested.map((s) => s.spki)).toEqual([enclave.tls.spki]);

    const [old] = await requestsDuring([enclave], () => client(urls, { policy: policyFor(nsm, { maxAgeSeconds: 0.001 }) }));
    expect(old!.filter((r) => ATTESTATION_GET.test(r))).toHaveLength(3);
  });

  it('shares one attestation between connections opened at once', async () => {
    const urls = Array.from({ length: 5 }, (_, i) => `${enclave.url}/close?${i}`);
    const [seen] = await requestsDuring([enclave], () => client(urls, { policy: policyFor(nsm) }, true));
    expect(seen!.filter((r) => ATTESTATION_GET.test(r))).toHaveLength(1);
    expect(seen!.filter((r) => r.startsWith('GET /close'))).toHaveLength(5);
  });

  describe('refuses before writing a byte of the request', () => {
    /** Where to send, under which policy; the servers that may see attestation requests only, and those that may see nothing. */
    interface Setup {
      target: { url: string };
      watched: RecordingServer[];
      silent?: RecordingServer[];
      policy: ClientPolicy;
      message?: RegExp;
    }
    const refusals: [string, string, () => Promise<Setup>][] = [
      ['a PCR differs', 'PCR_MISMATCH', async () => ({ target: enclave, watched: [enclave], policy: policyFor(nsm, { pcrs: { 1: ['b1'.repeat(48)] } }) })],
      [
        'the configuration differs',
        'USER_DATA_MISMATCH',
        async () => ({ target: enclave, watched: [enclave], policy: policyFor(nsm, { config: 'cc'.repeat(48) }) }),
      ],
      [
        'the root differs',
        'BAD_CHAIN',
        async () => {
          const other = await DevPki.open({ dir: join(dir, 'other-root') });
          return { target: enclave, watched: [enclave], policy: policyFor(nsm, { root: other.rootCertificatePath }) };
        },
      ],
      [
        'the document is stale',
        'STALE',
        async () => {
          const stale = await bootNsm(join(dir, 'stale'), () => Date.now() - 10 * 60_000);
          const server = await started(startFakeEnclave({ nsm: stale }));
          return { target: server, watched: [server], policy: policyFor(stale) };
        },
      ],
      [
        'a recorded document is replayed',
        'NONCE_MISMATCH',
        async () => {
          const recorded = await fetchAttestation(enclave.url);
          const server = await started(startFakeEnclave({ nsm, tls: enclave.tls, replay: recorded.bytes }));
          return { target: server, watched: [server], policy: policyFor(nsm) };
        },
      ],
      [
        'a man in the middle with its own key relays the real document',
        'PUBLIC_KEY_MISMATCH',
        async () => {
          const mitm = await started(startMitm(enclave));
          return { target: mitm, watched: [mitm, enclave], policy: policyFor(nsm) };
        },
      ],
      [
        'the connection lands on another server than the attestation does',
        'PUBLIC_KEY_MISMATCH',
        async () => {
          // The request's connection (opened first) reaches the impostor, the attestation's the enclave.
          const impostor = await started(startMitm(enclave));
          const router = await started(startRouter([impostor.port, enclave.port]));
          return {
            target: router,
            watched: [enclave],
            silent: [impostor],
            policy: policyFor(nsm),
            message: /presented the key .* but the enclave there attested/,
          };
        },
      ],
    ];

    it.each(refusals)('when %s: %s', async (_case, code, setup) => {
      const { target, watched, silent = [], policy, message = /./ } = await setup();
      const secret = `SECRET-${randomBytes(8).toString('hex')}`;
      const received = watched.map((s) => s.received().length);
      const heard = silent.map((s) => ({ bytes: s.received().length, connections: s.connections() }));
      let refusal: unknown;
      const seen = await requestsDuring(watched, () =>
        client([`${target.url}/submit`], { policy, identity, body: secret }).then(
          () => undefined,
          (e: unknown) => void (refusal = e),
        ),
      );
      expect(refusal).toMatchObject({ name: 'AttestationError', code, message: expect.stringMatching(message) });
      for (const [i, server] of watched.entries()) {
        // Each server saw the attestation request and nothing else: no request line, no header, no body.
        expect(seen[i]!.length).toBeGreaterThan(0);
        for (const line of seen[i]!) expect(line).toMatch(ATTESTATION_GET);
        const bytes = server.received().slice(received[i]);
        expect(bytes).not.toContain(secret);
        expect(bytes).not.toContain('/submit');
      }
      for (const [i, server] of silent.entries()) {
        // Reached by the TLS handshake, which proved its key wrong, and sent not one byte after it.
        expect(server.connections()).toBeGreaterThan(heard[i]!.connections);
        expect(server.received().slice(heard[i]!.bytes)).toBe('');
      }
    });
  });
});
