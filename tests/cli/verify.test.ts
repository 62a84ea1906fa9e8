import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAttestation } from '../../attestation';
import { REAL_DOCUMENTS, TESTDATA, readTestdata } from '../attestation/testdata';
import { cloister } from './run';

const PROD = join(TESTDATA, 'nitro', 'prod-2022-10-13.cose');
const DEBUG = join(TESTDATA, 'nitro', 'debug-2022-10-12.cose');
const PCR0 = REAL_DOCUMENTS[0].pcr0;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-verify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cloister verify', () => {
  it('verifies a stored document at its own time: exit 0, "valid": true and its PCR0', async () => {
    const { status, stdout } = await cloister('verify', PROD, '--at', 'doc', '--json');
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ valid: true, code: null, timestamp: 1665651482136 });
    expect(report.pcrs['0']).toBe(PCR0);
    expect(report.chain).toHaveLength(5);
  });

  it('refuses the same document at the current time: exit 1, code EXPIRED', async () => {
    const { status, stdout } = await cloister('verify', PROD, '--json');
    expect(status).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ valid: false, code: 'EXPIRED', pcrs: { 0: PCR0 } });
  });

  it('accepts --at as an ISO date or milliseconds', async () => {
    expect((await cloister('verify', PROD, '--at', '2022-10-13T09:00:00Z')).status).toBe(0);
    expect((await cloister('verify', PROD, '--at', '1665651482136')).status).toBe(0);
    expect((await cloister('verify', PROD, '--at', '2022-10-13T12:00:00Z')).status).toBe(1);
  });

  it('marks PCRs against --pcr with ✓ and ✗ in the text report', async () => {
    const ok = await cloister('verify', PROD, '--at', 'doc', '--pcr', `0=${PCR0}`);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('✓ VALID');
    expect(ok.stdout).toContain(`✓  0 ${PCR0}`);
    expect(ok.stdout).toContain('aws.nitro-enclaves');

    const bad = await cloister('verify', PROD, '--at', 'doc', '--pcr', `0=${'ab'.repeat(48)}`);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('✗ REFUSED: PCR_MISMATCH');
    expect(bad.stdout).toContain(`✗  0 ${PCR0}`);
  });

  it('accepts several values for one PCR (a rolling upgrade)', async () => {
    const { status, stdout } = await cloister('verify', PROD, '--at', 'doc', '--pcr', `0=${'ab'.repeat(48)}`, '--pcr', `0=${PCR0.toUpperCase()}`, '--json');
    expect(status).toBe(0);
    expect(JSON.parse(stdout).pcrChecks).toEqual({ 0: true });
  });

  it('refuses debug documents unless --allow-debug', async () => {
    expect(JSON.parse((await cloister('verify', DEBUG, '--at', 'doc', '--json')).stdout).code).toBe('DEBUG_MODE');
    expect((await cloister('verify', DEBUG, '--at', 'doc', '--allow-debug')).status).toBe(0);
  });

  it('reads hex and base64 as well as raw bytes', async () => {
    const raw = readTestdata('nitro', 'prod-2022-10-13.cose');
    const hex = join(dir, 'doc.hex');
    const b64 = join(dir, 'doc.b64');
    writeFileSync(hex, `${raw.toString('hex')}\n`);
    writeFileSync(b64, raw.toString('base64').replace(/(.{76})/g, '$1\n'));
    expect((await cloister('verify', hex, '--at', 'doc')).status).toBe(0);
    expect((await cloister('verify', b64, '--at', 'doc')).status).toBe(0);
  });

  it('refuses a document under another root given as PEM: exit 1, BAD_CHAIN', async () => {
    const pem = join(dir, 'other-root.pem');
    // The leaf of the document itself is a well-formed certificate, but no root of this chain.
    const { certificate } = readAttestation(readTestdata('nitro', 'prod-2022-10-13.cose'));
    writeFileSync(pem, `-----BEGIN CERTIFICATE-----\n${Buffer.from(certificate).toString('base64')}\n-----END CERTIFICATE-----\n`);
    const { status, stdout } = await cloister('verify', PROD, '--at', 'doc', '--root', pem, '--json');
    expect(status).toBe(1);
    expect(JSON.parse(stdout).code).toBe('BAD_CHAIN');
  });

  it('reports a malformed document as refused (exit 1) with its code', async () => {
    const junk = join(dir, 'junk.cose');
    writeFileSync(junk, Buffer.from([0x84, 0x01, 0x02, 0x03, 0x04]));
    const { status, stdout } = await cloister('verify', junk, '--json');
    expect(status).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ valid: false, code: 'BAD_CBOR', pcrs: {} });
  });

  it.each([
    ['a missing file', ['verify', join(TESTDATA, 'nope.cose')], /Cannot read/],
    ['an unreadable root', ['verify', PROD, '--root', join(TESTDATA, 'nope.pem')], /Cannot read the root/],
    ['a bad --at', ['verify', PROD, '--at', 'yesterday'], /--at yesterday/],
    ['a bad --pcr', ['verify', PROD, '--pcr', '0=abc'], /--pcr 0=abc/],
    ['a PCR index past 31', ['verify', PROD, '--pcr', `32=${PCR0}`], /--pcr 32=/],
    ['an unknown option', ['verify', PROD, '--bogus'], /unknown option/],
    ['no document', ['verify'], /missing required argument/],
    ['an input that never ends, read no further than its bound', ['verify', '/dev/zero'], /\/dev\/zero is larger than 64 KiB/],
  ])('exits 2 with a message for %s', async (_what, argv, message) => {
    const { status, stderr } = await cloister(...argv);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('exits 2 for a file that is neither CBOR, hex nor base64', async () => {
    const text = join(dir, 'text.txt');
    writeFileSync(text, 'hello, world!');
    expect((await cloister('verify', text)).status).toBe(2);
  });
});
