import { randomBytes } from 'node:crypto';
import { AttestationError, awsNitroRoot, rootFromPem, verifyAttestation } from '../../../attestation';
import { decodeIngressBinding, requireConfigDigest } from '../../../attestation/ingress-binding';
import { PCRS, type Stack, request, startStack } from '../../helpers/network-harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const ATTESTATION = '/.well-known/cloister/attestation';

describe('GET /.well-known/cloister/attestation', () => {
  it('returns a document that verifies under the dev root and binds the TLS key presented, the config and the instance', async () => {
    const nonce = randomBytes(32);
    const res = await request(stack.port, { path: `${ATTESTATION}?nonce=${nonce.toString('hex')}` });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/cbor');
    expect(res.headers['cache-control']).toBe('no-store');
    const presented = res.peerCertificate!.publicKey.export({ type: 'spki', format: 'der' });
    const document = verifyAttestation(res.body, {
      root: rootFromPem(stack.nsm.pki.rootCertificatePem),
      at: Date.now(),
      policy: { pcrs: PCRS, nonce, publicKey: presented, maxAgeMs: 60_000, userData: requireConfigDigest(stack.binding.config) },
    });
    expect(Buffer.from(document.publicKey!)).toEqual(stack.tls.spkiDer);
    const binding = decodeIngressBinding(document.userData);
    expect(Buffer.from(binding.config)).toEqual(Buffer.from(stack.binding.config));
    expect(Buffer.from(binding.instance)).toEqual(Buffer.from(stack.binding.instance));
    expect(Buffer.from(binding.results)).toEqual(Buffer.from(stack.binding.results));
  });

  it('answers with or without a client certificate, and without a nonce gives a document without one', async () => {
    const res = await request(stack.port, { path: ATTESTATION, credentials: stack.clients.alice });
    expect(res.status).toBe(200);
    const document = verifyAttestation(res.body, { root: rootFromPem(stack.nsm.pki.rootCertificatePem), at: Date.now() });
    expect(document.nonce).toBeNull();
  });

  it('is not accepted under the AWS root: it is a development document', async () => {
    const res = await request(stack.port, { path: ATTESTATION });
    expect(() => verifyAttestation(res.body, { root: awsNitroRoot(), at: Date.now() })).toThrow(AttestationError);
  });

  it('accepts a nonce of exactly 64 bytes, in either case of hex', async () => {
    const nonce = randomBytes(64);
    const res = await request(stack.port, { path: `${ATTESTATION}?nonce=${nonce.toString('hex').toUpperCase()}` });
    expect(res.status).toBe(200);
    const document = verifyAttestation(res.body, { root: rootFromPem(stack.nsm.pki.rootCertificatePem), at: Date.now(), policy: { nonce } });
    expect(Buffer.from(document.nonce!)).toEqual(nonce);
  });

  it.each([
    ['not hex', 'nonce=zz'],
    ['an odd number of digits', 'nonce=abc'],
    ['empty', 'nonce='],
    ['65 bytes', `nonce=${'ab'.repeat(65)}`],
    ['given twice', 'nonce=abcd&nonce=abcd'],
    ['with a 0x prefix', 'nonce=0xabcd'],
    ['percent-encoded junk', 'nonce=%00%01'],
  ])('refuses a nonce that is %s with 400', async (_what, query) => {
    const res = await request(stack.port, { path: `${ATTESTATION}?${query}` });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'BAD_NONCE' });
  });

  it('answers other methods with 405 and never forwards them', async () => {
    const before = stack.app.seen.length;
    const res = await request(stack.port, { method: 'POST', path: ATTESTATION, body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(stack.app.seen.length).toBe(before);
  });

  it('rate limits per client, with 429 and Retry-After', async () => {
    const limited = await stack.another({ limits: { attestationsPerMinute: 3 } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await request(limited.port, { path: ATTESTATION })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const refused = await request(limited.port, { path: ATTESTATION });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body.toString())).toMatchObject({ error: 'RATE_LIMITED' });
    // The limit is on documents, not on the app behind.
    expect((await request(limited.port, { path: '/hello', credentials: stack.clients.alice })).status).toBe(200);
    await limited.close();
  });

  it('counts an authenticated caller as itself, so anonymous clients sharing the bridge address cannot exhaust it', async () => {
    const limited = await stack.another({ limits: { attestationsPerMinute: 2 } });
    const statuses = async (credentials?: (typeof stack.clients)['alice']) => {
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await request(limited.port, { path: ATTESTATION, ...(credentials && { credentials }) })).status);
      return codes;
    };
    // Every client here connects from 127.0.0.1, as every client does behind the bridge.
    expect(await statuses()).toEqual([200, 200, 429]);
    expect(await statuses(stack.clients.alice)).toEqual([200, 200, 429]);
    expect(await statuses(stack.clients.bob)).toEqual([200, 200, 429]);
    // A certificate that names no configured caller is anonymous: minting keys buys no new budget.
    expect(await statuses(stack.clients.stranger)).toEqual([429, 429, 429]);
    await limited.close();
  });
});

describe('GET /.well-known/cloister/config', () => {
  it('serves the configuration verbatim as JSON', async () => {
    const res = await request(stack.port, { path: '/.well-known/cloister/config' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.toString()).toBe(stack.configJson);
  });
});

describe('the rest of /.well-known/cloister/', () => {
  it('belongs to the ingress: unknown paths are 404 there and never reach the app', async () => {
    const before = stack.app.seen.length;
    const res = await request(stack.port, { path: '/.well-known/cloister/other', credentials: stack.clients.alice });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'NOT_FOUND' });
    expect(stack.app.seen.length).toBe(before);
  });
});
