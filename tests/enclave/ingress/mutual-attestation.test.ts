import { X509Certificate, createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { rootFromPem, verifyAttestation } from '../../../attestation';
import { DevNsm } from '../../../attestation/dev';
import { issueEnclaveClientCertificate } from '../../../enclave/ingress';
import { readEnclaveAttestation } from '../../../enclave/ingress/enclave-client-certificate';
import { generateP256Key, selfSign } from '../../../enclave/ingress/self-signed';
import { PCRS, type Stack, identityHeaders, injected, pcr, request, scratchDir, startStack } from '../../helpers/network-harness';

/** The measurements of the calling enclaves; the ingress's own are PCRS. */
const SCORER_PCRS = { 0: pcr(0xb0), 1: pcr(0xb1), 2: pcr(0xb2) };
const AUDITOR_PCR0 = pcr(0xc0);

let stack: Stack;
let peers: { dir: string; remove(): void };
/** A second development root, for documents that chain to a root no entry names. */
let otherRoot: DevNsm;
/** Signs with a clock two hours behind: its documents are too old for the ingress. */
let laggard: DevNsm;
let ingress: Awaited<ReturnType<Stack['another']>>;

const sameRootNsm = (pcrs: Record<number, string>, options: { debug?: boolean } = {}) => DevNsm.open({ dir: join(stack.dir, 'nsm'), pcrs, ...options });

beforeAll(async () => {
  stack = await startStack();
  peers = scratchDir();
  otherRoot = await DevNsm.open({ dir: join(peers.dir, 'other'), pcrs: SCORER_PCRS });
  laggard = await DevNsm.open({ dir: join(peers.dir, 'laggard'), pcrs: SCORER_PCRS, now: () => Date.now() - 2 * 3_600_000 });
  const devRoot = stack.nsm.pki.rootCertificatePem;
  ingress = await stack.another({
    enclaves: [
      // Under the AWS root (the default), which no development document chains to: tried, refused, and the search goes on.
      { name: 'aws-scorer', role: 'production', pcrs: SCORER_PCRS },
      { name: 'scorer', role: 'service', pcrs: SCORER_PCRS, root: devRoot },
      { name: 'auditor', role: 'audit', pcrs: { 0: AUDITOR_PCR0 }, root: devRoot },
      { name: 'late', role: 'service', pcrs: SCORER_PCRS, root: laggard.pki.rootCertificatePem },
    ],
  });
});
afterAll(async () => {
  await stack.close();
  peers.remove();
});

async function seenAs(credentials: { keyPem: string; certPem: string }, tag: string): Promise<[string, string][]> {
  const res = await request(ingress.port, { path: `/echo/${tag}`, credentials });
  expect(res.status).toBe(200);
  return identityHeaders(stack.app.seen.find((s) => s.url === `/echo/${tag}`)!);
}

const refusals = () => stack.logs.filter((l) => l.event === 'peer_attestation_refused').map((l) => String(l.code));

/** The extension's OBJECT IDENTIFIER as OpenSSL encodes it (`openssl asn1parse -genstr OID:2.25.1493…`). */
const OID_DER = Buffer.from('06146981e0df879bf1a08a84d5adb4c2a3a290ddac2e', 'hex');

/**
 * A client certificate for a fresh key whose attestation extension holds `value(spki)`, the
 * extnValue's content, encoded here by hand so that malformed variants can be made too.
 */
async function certificateCarrying(value: (spki: Buffer) => Promise<Uint8Array>): Promise<{ keyPem: string; certPem: string }> {
  const key = await generateP256Key();
  const extension = tlv(0x30, OID_DER, tlv(0x04, await value(key.spkiDer)));
  return selfSign(key, { commonName: 'peer', validityMs: 3_600_000, extensions: [extension] });
}

const wrapped = (document: Uint8Array) => tlv(0x04, document);

function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const content = Buffer.concat(contents);
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

describe('issueEnclaveClientCertificate', () => {
  it('binds a fresh key to an attestation document carried in a non-critical extension', async () => {
    const scorer = await sameRootNsm(SCORER_PCRS);
    const { keyPem, certPem } = await issueEnclaveClientCertificate(scorer, 'scorer');
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toBe('CN=scorer');
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    // The extension as OpenSSL would encode it: the full OID, no critical flag, an OCTET STRING in the extnValue.
    const document = readEnclaveAttestation(cert.raw)!;
    expect(cert.raw.includes(tlv(0x30, OID_DER, tlv(0x04, wrapped(document))))).toBe(true);
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    const verified = verifyAttestation(document, {
      root: rootFromPem(stack.nsm.pki.rootCertificatePem),
      at: Date.now(),
      policy: { publicKey: spki, pcrs: SCORER_PCRS },
    });
    expect(Buffer.from(verified.publicKey!)).toEqual(spki);
  });

  it('leaves certificates without the extension alone', async () => {
    const plain = new X509Certificate(stack.clients.alice.certPem);
    expect(readEnclaveAttestation(plain.raw)).toBeUndefined();
  });
});

describe('mutual attestation at the ingress', () => {
  it('injects the name and role of the first enclaves entry whose root and PCRs the document matches', async () => {
    const credentials = await issueEnclaveClientCertificate(await sameRootNsm(SCORER_PCRS), 'scorer');
    expect(await seenAs(credentials, 'scorer')).toEqual(injected('scorer', 'service'));
    const hello = await request(ingress.port, { path: '/hello', credentials });
    expect(JSON.parse(hello.body.toString())).toMatchObject({ name: 'scorer', role: 'service' });
  });

  it('matches an entry that lists only some PCRs on exactly those', async () => {
    const credentials = await issueEnclaveClientCertificate(await sameRootNsm({ ...SCORER_PCRS, 0: AUDITOR_PCR0 }), 'auditor');
    expect(await seenAs(credentials, 'auditor')).toEqual(injected('auditor', 'audit'));
  });

  it('strips forged identity headers from an attested enclave too', async () => {
    const credentials = await issueEnclaveClientCertificate(await sameRootNsm(SCORER_PCRS), 'scorer');
    const res = await request(ingress.port, {
      path: '/echo/scorer-forging',
      credentials,
      headers: { 'X-OBLV-User-Name': 'auditor', x_oblv_user_role: 'audit' },
    });
    expect(res.status).toBe(200);
    expect(identityHeaders(stack.app.seen.find((s) => s.url === '/echo/scorer-forging')!)).toEqual(injected('scorer', 'service'));
  });

  it('gives an enclave with other PCRs no identity, and logs PCR_MISMATCH', async () => {
    const credentials = await issueEnclaveClientCertificate(await sameRootNsm({ 0: pcr(0xee), 1: pcr(0xb1), 2: pcr(0xb2) }), 'impostor');
    expect(await seenAs(credentials, 'other-pcrs')).toEqual([]);
    expect(refusals().pop()).toMatch(/PCR_MISMATCH/);
  });

  it('gives a debug-mode enclave no identity', async () => {
    const credentials = await issueEnclaveClientCertificate(await sameRootNsm(SCORER_PCRS, { debug: true }), 'debug');
    expect(await seenAs(credentials, 'debug')).toEqual([]);
    expect(refusals().pop()).toMatch(/DEBUG_MODE|PCR_MISMATCH/);
  });

  it('gives a tampered document no identity, and logs BAD_SIGNATURE', async () => {
    const scorer = await sameRootNsm(SCORER_PCRS);
    const credentials = await certificateCarrying(async (spki) => {
      const document = Buffer.from(await scorer.attestation({ publicKey: spki }));
      document[document.length - 1]! ^= 0x01; // the last byte of the signature
      return wrapped(document);
    });
    expect(await seenAs(credentials, 'tampered')).toEqual([]);
    expect(refusals().pop()).toMatch(/BAD_SIGNATURE/);
  });

  it('gives a genuine document bound to another key no identity (a copied document is useless), and logs PUBLIC_KEY_MISMATCH', async () => {
    const scorer = await sameRootNsm(SCORER_PCRS);
    const stolen = readEnclaveAttestation(new X509Certificate((await issueEnclaveClientCertificate(scorer, 'scorer')).certPem).raw)!;
    const credentials = await certificateCarrying(async () => wrapped(stolen));
    expect(await seenAs(credentials, 'stolen')).toEqual([]);
    expect(refusals().pop()).toMatch(/PUBLIC_KEY_MISMATCH/);
  });

  it('gives a document from a root no entry names no identity, and logs BAD_CHAIN', async () => {
    const credentials = await issueEnclaveClientCertificate(otherRoot, 'elsewhere');
    expect(await seenAs(credentials, 'other-root')).toEqual([]);
    expect(refusals().pop()).toMatch(/BAD_CHAIN/);
  });

  it('gives a document older than an hour no identity, and logs STALE', async () => {
    const credentials = await issueEnclaveClientCertificate(laggard, 'late');
    expect(await seenAs(credentials, 'stale')).toEqual([]);
    expect(refusals().pop()).toMatch(/STALE/);
  });

  it('gives a malformed extension no identity', async () => {
    const scorer = await sameRootNsm(SCORER_PCRS);
    // The document itself as the extnValue, without the OCTET STRING around it.
    const credentials = await certificateCarrying((spki) => scorer.attestation({ publicKey: spki }));
    expect(await seenAs(credentials, 'unwrapped')).toEqual([]);
    expect(refusals().pop()).toBe('BAD_EXTENSION');
  });

  it('gives garbage in the extension no identity, and logs BAD_CBOR', async () => {
    const credentials = await certificateCarrying(async () => wrapped(Buffer.from('not an attestation document')));
    expect(await seenAs(credentials, 'garbage')).toEqual([]);
    expect(refusals().pop()).toMatch(/BAD_CBOR/);
  });

  it('keeps the ingress’s own PCRs out of it: the ingress enclave itself is not a configured peer', async () => {
    const credentials = await issueEnclaveClientCertificate(await sameRootNsm(PCRS), 'itself');
    expect(await seenAs(credentials, 'itself')).toEqual([]);
  });
});

describe('an ingress refuses malformed users and enclaves entries before it listens', () => {
  it.each([
    ['an enclave with no PCRs', { enclaves: [{ name: 'x', role: 'r', pcrs: {} }] }],
    ['an enclave with a malformed PCR', { enclaves: [{ name: 'x', role: 'r', pcrs: { 0: 'abc' } }] }],
    [
      'an enclave root that is not a certificate',
      { enclaves: [{ name: 'x', role: 'r', pcrs: SCORER_PCRS, root: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' }] },
    ],
    ['an enclave name that could split a header', { enclaves: [{ name: 'x\r\nX-OBLV-User-Name: bob', role: 'r', pcrs: SCORER_PCRS }] }],
    ['a user key that is neither a digest nor a JWK', { users: [{ name: 'x', role: 'r', key: 'sha256:XYZ' }] }],
    ['a user JWK of a symmetric key', { users: [{ name: 'x', role: 'r', key: { kty: 'oct', k: 'c2VjcmV0' } }] }],
    ['an empty user role', { users: [{ name: 'x', role: '', key: `sha256:${'a'.repeat(64)}` }] }],
  ])('%s', async (_what, options) => {
    await expect(stack.another(options)).rejects.toThrow();
  });
});
