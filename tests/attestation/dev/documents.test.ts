import { createHash, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { DevNsm, DevPki } from '../../../attestation/dev';
import { NsmError } from '../../../attestation/nsm/nsm';
import { chainOf, decodeDocument, manualClock, sigStructure, tempDirs } from './support';

const dirs = tempDirs();
afterAll(dirs.cleanup);

const PCR0 = '9baef83909784e4d2cb84466c02931bb8125e948b62029029e80bfa1698bfd7069408e4ab20d1c99c859e8f774cce0ff';
const PCR1 = '4b4d5b3661b3efc12920900c80e126e4ce783c522de6c02a2a5bf7af3a2b9327b86776f188e4be1c1c404a129dbda493';
const PCR2 = '769925c8ae0c5c2d1aa86de149213b1c5dec642557bf0c426c6581f0e562a042d1c7d2578443515d103f74ce55337666';
const KEYS = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce'];
const text = (s: string) => Buffer.concat([Buffer.of(0x60 + s.length), Buffer.from(s)]);

const clock = manualClock();
let pki: DevPki;
let nsm: DevNsm;
beforeAll(async () => {
  pki = await DevPki.open({ dir: dirs.make(), now: clock.now });
  nsm = new DevNsm({ pki, pcrs: { 0: PCR0, 1: PCR1, 2: PCR2 } });
});

/** Whether the COSE signature of `document` verifies with its own leaf's key (node:crypto, raw r‖s). */
function signatureVerifies(document: Uint8Array): boolean {
  const decoded = decodeDocument(document);
  const { leaf } = chainOf(decoded);
  return verify('sha384', sigStructure(decoded.protectedHeader, decoded.payloadBytes), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, decoded.signature);
}

describe('development attestation documents', () => {
  it('are untagged four-element COSE_Sign1 arrays with the exact ES384 protected header and an empty unprotected map', async () => {
    const document = Buffer.from(await nsm.attestation({}));
    // 84: array(4); 44 a1013822: bstr {1: -35}; a0: {}; 59: the payload's bstr head (2-byte length).
    expect(document.subarray(0, 8).toString('hex')).toBe('8444a1013822a059');
    const decoded = decodeDocument(document);
    expect(decoded.protectedHeader.toString('hex')).toBe('a1013822');
    expect(decoded.unprotected).toEqual(new Map());
    expect(decoded.signature).toHaveLength(96);
    // The signature closes the document: a 96-byte bstr (58 60) and nothing after it.
    expect(document.subarray(document.length - 98, document.length - 96).toString('hex')).toBe('5860');
  });

  it('carry the nine payload keys in the NSM order, with nulls for absent fields', async () => {
    const decoded = decodeDocument(await nsm.attestation({}));
    expect([...decoded.payload.keys()]).toEqual(KEYS);
    expect(decoded.payload.get('module_id')).toBe(nsm.moduleId);
    expect(decoded.payload.get('digest')).toBe('SHA384');
    expect(decoded.payload.get('timestamp')).toBe(clock.now());
    expect(decoded.payload.get('public_key')).toBeNull();
    expect(decoded.payload.get('user_data')).toBeNull();
    expect(decoded.payload.get('nonce')).toBeNull();
    // The last three entries, byte for byte, as in a real document without them.
    expect(decoded.payloadBytes.subarray(-30).toString('hex')).toBe(
      Buffer.concat([text('public_key'), Buffer.of(0xf6), text('user_data'), Buffer.of(0xf6), text('nonce'), Buffer.of(0xf6)]).toString('hex'),
    );
  });

  it('write the timestamp as a CBOR uint64 (1b), as the NSM does, not as a float', async () => {
    clock.set(Date.parse('2031-03-04T05:06:07.089Z'));
    const decoded = decodeDocument(await nsm.attestation({}));
    const expected = Buffer.alloc(9);
    expected[0] = 0x1b;
    expected.writeBigUInt64BE(BigInt(clock.now()), 1);
    expect(decoded.payloadBytes.includes(Buffer.concat([text('timestamp'), expected]))).toBe(true);
  });

  it('carry the given fields as byte strings, at up to 1024 bytes each', async () => {
    const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' });
    const userData = new Uint8Array(1024).fill(7);
    const nonce = Buffer.from('0123456789abcdef', 'hex');
    const decoded = decodeDocument(await nsm.attestation({ publicKey, userData, nonce }));
    expect(Buffer.from(decoded.payload.get('public_key') as Uint8Array).equals(publicKey)).toBe(true);
    expect(Buffer.from(decoded.payload.get('user_data') as Uint8Array).equals(Buffer.from(userData))).toBe(true);
    expect(Buffer.from(decoded.payload.get('nonce') as Uint8Array).equals(nonce)).toBe(true);
    // Plain byte strings (major type 2), never cbor-x's tag 64 for typed arrays.
    expect(decoded.payloadBytes.includes(Buffer.concat([text('nonce'), Buffer.of(0x48), nonce]))).toBe(true);
    expect(decoded.payloadBytes.includes(Buffer.concat([text('user_data'), Buffer.of(0x59, 0x04, 0x00)]))).toBe(true);
    const empty = decodeDocument(await nsm.attestation({ nonce: new Uint8Array(0) }));
    expect(Buffer.from(empty.payload.get('nonce') as Uint8Array)).toHaveLength(0);
  });

  it('refuse fields over 1024 bytes as InputTooLarge, and fields that are not bytes', async () => {
    for (const field of ['userData', 'nonce', 'publicKey'] as const) {
      const tooLarge = nsm.attestation({ [field]: new Uint8Array(1025) });
      await expect(tooLarge).rejects.toThrow(NsmError);
      await expect(tooLarge).rejects.toMatchObject({ code: 'InputTooLarge' });
      await expect(nsm.attestation({ [field]: 'text' as unknown as Uint8Array })).rejects.toMatchObject({ code: 'InvalidArgument' });
    }
  });

  it('report PCRs 0–15 with the boot measurements, and locked PCRs above in index order', async () => {
    const local = new DevNsm({ pki, pcrs: { 0: PCR0, 1: PCR1, 2: PCR2 } });
    const before = decodeDocument(await local.attestation({})).payload.get('pcrs') as Map<number, Uint8Array>;
    expect([...before.keys()]).toEqual([...Array(16).keys()]);
    for (const value of before.values()) expect(value).toHaveLength(48);
    expect(Buffer.from(before.get(0)!).toString('hex')).toBe(PCR0);
    expect(Buffer.from(before.get(1)!).toString('hex')).toBe(PCR1);
    expect(Buffer.from(before.get(2)!).toString('hex')).toBe(PCR2);
    expect(Buffer.from(before.get(8)!).equals(Buffer.alloc(48))).toBe(true);

    const digest = createHash('sha384').update('cloister config').digest();
    await local.extendPcr(16, digest);
    await local.extendPcr(17, digest);
    expect((decodeDocument(await local.attestation({})).payload.get('pcrs') as Map<number, Uint8Array>).size).toBe(16);
    await local.lockPcr(17);
    await local.lockPcr(16);
    const after = decodeDocument(await local.attestation({})).payload.get('pcrs') as Map<number, Uint8Array>;
    expect([...after.keys()]).toEqual([...Array(18).keys()]);
    const pcr16 = createHash('sha384')
      .update(Buffer.concat([Buffer.alloc(48), digest]))
      .digest();
    expect(Buffer.from(after.get(16)!).equals(pcr16)).toBe(true);
  });

  it('report debug mode as the NSM does: PCR0, 1, 2 and 8 zero', async () => {
    const debug = new DevNsm({ pki, debug: true, pcrs: { 0: PCR0, 1: PCR1, 2: PCR2, 3: PCR0 } });
    const pcrs = decodeDocument(await debug.attestation({})).payload.get('pcrs') as Map<number, Uint8Array>;
    for (const i of [0, 1, 2, 8]) expect(Buffer.from(pcrs.get(i)!).equals(Buffer.alloc(48))).toBe(true);
    expect(Buffer.from(pcrs.get(3)!).toString('hex')).toBe(PCR0);
  });

  it('use a definite-length payload map by default and an indefinite one on request', async () => {
    const definite = decodeDocument(await nsm.attestation({ nonce: Buffer.of(1, 2) }));
    expect(definite.payloadBytes[0]).toBe(0xa9);
    expect(definite.payloadBytes.at(-1)).not.toBe(0xff);

    const indefiniteNsm = new DevNsm({ pki, pcrs: { 0: PCR0 }, indefiniteLengthMap: true });
    const indefinite = decodeDocument(await indefiniteNsm.attestation({ nonce: Buffer.of(1, 2) }));
    expect(indefinite.payloadBytes[0]).toBe(0xbf);
    expect(indefinite.payloadBytes.at(-1)).toBe(0xff);
    // The map's contents are the same entries: only the framing differs (inner maps stay definite).
    expect(indefinite.payloadBytes.subarray(1, -1).includes(Buffer.concat([text('pcrs'), Buffer.of(0xb0)]))).toBe(true);
    expect([...indefinite.payload.keys()]).toEqual(KEYS);
    expect(signatureVerifies(await indefiniteNsm.attestation({}))).toBe(true);
  });

  it('are signed over the Sig_structure with the leaf key, and any change breaks the signature', async () => {
    const document = Buffer.from(await nsm.attestation({ nonce: Buffer.from('fresh') }));
    expect(signatureVerifies(document)).toBe(true);
    const decoded = decodeDocument(document);
    const { leaf } = chainOf(decoded);
    const key = { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' as const };
    const tamperedPayload = Buffer.from(decoded.payloadBytes);
    tamperedPayload[tamperedPayload.length - 1]! ^= 1;
    expect(verify('sha384', sigStructure(decoded.protectedHeader, tamperedPayload), key, decoded.signature)).toBe(false);
    const tamperedSignature = Buffer.from(decoded.signature);
    tamperedSignature[10]! ^= 1;
    expect(verify('sha384', sigStructure(decoded.protectedHeader, decoded.payloadBytes), key, tamperedSignature)).toBe(false);
    // And it is ES384 on P-384, not merely some signature the leaf could make.
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });

  it('chain from the leaf up to the pinned development root, valid at the document time', async () => {
    const decoded = decodeDocument(await nsm.attestation({}));
    const { leaf, cabundle } = chainOf(decoded);
    const root = new X509Certificate(pki.rootCertificatePem);
    expect(cabundle).toHaveLength(4);
    expect(cabundle[0]!.raw.equals(root.raw)).toBe(true);
    const chain = [root, ...cabundle.slice(1), leaf];
    const at = decoded.payload.get('timestamp') as number;
    for (let i = chain.length - 1; i > 0; i--) {
      expect(chain[i]!.verify(chain[i - 1]!.publicKey)).toBe(true);
      expect(chain[i]!.checkIssued(chain[i - 1]!)).toBe(true);
    }
    expect(root.verify(root.publicKey)).toBe(true);
    for (const cert of chain) {
      expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(at);
      expect(Date.parse(cert.validTo)).toBeGreaterThanOrEqual(at);
    }
    // A foreign root does not sign this chain.
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(cabundle[1]!.verify(foreign)).toBe(false);
  });

  it('differ in their chain when issued by another root directory', async () => {
    const other = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    const theirs = chainOf(decodeDocument(await other.attestation({})));
    expect(theirs.cabundle[0]!.raw.equals(pki.rootCertificateDer)).toBe(false);
    expect(theirs.cabundle[1]!.verify(new X509Certificate(pki.rootCertificateDer).publicKey)).toBe(false);
  });
});
