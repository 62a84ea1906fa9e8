import { createHash } from 'node:crypto';
import { DevNsm, DevPki } from '../../../attestation/dev';
import { NsmError, type NsmErrorCode } from '../../../attestation/nsm/nsm';
import { tempDirs } from './support';

const dirs = tempDirs();
afterAll(dirs.cleanup);

const PCR0 = 'f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf150142d8b';
const PCR1 = 'bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f';
const PCR2 = 'd8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc469a';
const ZERO = Buffer.alloc(48);

let pki: DevPki;
beforeAll(async () => {
  pki = await DevPki.open({ dir: dirs.make() });
});

/** The NsmError code `action` rejects (or throws) with; fails if it succeeds or throws anything else. */
async function codeOf(action: () => unknown): Promise<NsmErrorCode> {
  try {
    await action();
  } catch (e) {
    expect(e).toBeInstanceOf(NsmError);
    return (e as NsmError).code;
  }
  throw new Error('expected an NsmError');
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** The TPM extension rule, computed here independently: SHA-384(old ‖ data). */
const extended = (old: Uint8Array, data: Uint8Array) =>
  createHash('sha384')
    .update(Buffer.concat([old, data]))
    .digest();

describe('development NSM PCRs', () => {
  it('reports boot measurements 0–15 as given, locked, and zero where none was given', async () => {
    const pcr3 = Buffer.alloc(48, 3);
    const nsm = new DevNsm({ pki, pcrs: { 0: PCR0, 1: PCR1.toUpperCase(), 2: Buffer.from(PCR2, 'hex'), 3: pcr3 } });
    expect(await nsm.describePcr(0)).toEqual({ locked: true, data: Buffer.from(PCR0, 'hex') });
    expect(hex((await nsm.describePcr(1)).data)).toBe(PCR1);
    expect(hex((await nsm.describePcr(2)).data)).toBe(PCR2);
    expect((await nsm.describePcr(3)).data).toEqual(pcr3);
    for (let i = 4; i < 16; i++) expect(await nsm.describePcr(i)).toEqual({ locked: true, data: ZERO });
    for (let i = 16; i < 32; i++) expect(await nsm.describePcr(i)).toEqual({ locked: false, data: ZERO });
  });

  it('zeroes PCR0, 1, 2 and 8 in debug mode, whatever was measured, and keeps the others', async () => {
    const measured = Buffer.alloc(48, 0xab);
    const nsm = new DevNsm({ pki, debug: true, pcrs: { 0: PCR0, 1: PCR1, 2: PCR2, 3: measured, 4: measured, 8: measured } });
    for (const i of [0, 1, 2, 8]) expect((await nsm.describePcr(i)).data).toEqual(ZERO);
    for (const i of [3, 4]) expect((await nsm.describePcr(i)).data).toEqual(measured);
  });

  it('refuses boot measurements that are not 48-byte values of PCRs 0–15', async () => {
    expect(await codeOf(() => new DevNsm({ pki, pcrs: { 16: PCR0 } }))).toBe('InvalidArgument');
    expect(await codeOf(() => new DevNsm({ pki, pcrs: { [-1]: PCR0 } }))).toBe('InvalidArgument');
    expect(await codeOf(() => new DevNsm({ pki, pcrs: { 0: PCR0.slice(2) } }))).toBe('InvalidArgument');
    expect(await codeOf(() => new DevNsm({ pki, pcrs: { 0: `${PCR0.slice(2)}zz` } }))).toBe('InvalidArgument');
    expect(await codeOf(() => new DevNsm({ pki, pcrs: { 0: Buffer.alloc(32) } }))).toBe('InvalidArgument');
  });

  it('extends PCRs 16–31 as SHA-384(old ‖ data) and returns the new value', async () => {
    const nsm = new DevNsm({ pki });
    const first = Buffer.from('config digest');
    const second = Buffer.from([0, 1, 2, 255]);
    const afterFirst = await nsm.extendPcr(16, first);
    expect(hex(afterFirst)).toBe(hex(extended(ZERO, first)));
    const afterSecond = await nsm.extendPcr(16, second);
    expect(hex(afterSecond)).toBe(hex(extended(extended(ZERO, first), second)));
    expect(await nsm.describePcr(16)).toEqual({ locked: false, data: Buffer.from(afterSecond) });
    expect(hex(await nsm.extendPcr(31, new Uint8Array()))).toBe(hex(extended(ZERO, Buffer.alloc(0))));
    expect((await nsm.describePcr(17)).data).toEqual(ZERO);
  });

  it('gives the known SHA-384 of 48 zero bytes followed by "abc"', async () => {
    const nsm = new DevNsm({ pki });
    // Computed with `openssl dgst -sha384` over 48 zero bytes and "abc", outside this code base.
    const expected = 'b1c16eb7634112b7c9d5ebd27e62a2d4528bbfcfd68b62d3afd9ecf98e0f413a84314acce78317fb69fd895155343e09';
    expect(hex(await nsm.extendPcr(20, Buffer.from('abc')))).toBe(expected);
    expect(hex((await nsm.describePcr(20)).data)).toBe(expected);
  });

  it('locks a PCR so it refuses further extension and keeps its value', async () => {
    const nsm = new DevNsm({ pki });
    const value = await nsm.extendPcr(16, Buffer.from('once'));
    await nsm.lockPcr(16);
    expect(await codeOf(() => nsm.extendPcr(16, Buffer.from('twice')))).toBe('ReadOnlyIndex');
    expect(await nsm.describePcr(16)).toEqual({ locked: true, data: Buffer.from(value) });
    await nsm.lockPcr(16);
    expect(await nsm.describePcr(16)).toEqual({ locked: true, data: Buffer.from(value) });
    expect(await nsm.describePcr(17)).toEqual({ locked: false, data: ZERO });
  });

  it('treats PCRs 0–15 as read-only', async () => {
    const nsm = new DevNsm({ pki, pcrs: { 0: PCR0 } });
    for (const i of [0, 1, 8, 15]) {
      expect(await codeOf(() => nsm.extendPcr(i, Buffer.from('x')))).toBe('ReadOnlyIndex');
      expect(await codeOf(() => nsm.lockPcr(i))).toBe('ReadOnlyIndex');
    }
    expect(hex((await nsm.describePcr(0)).data)).toBe(PCR0);
  });

  it('refuses indexes past 31 as InvalidIndex and non-u16 indexes as InvalidArgument', async () => {
    const nsm = new DevNsm({ pki });
    for (const index of [32, 33, 255, 65535]) {
      expect(await codeOf(() => nsm.describePcr(index))).toBe('InvalidIndex');
      expect(await codeOf(() => nsm.extendPcr(index, Buffer.from('x')))).toBe('InvalidIndex');
      expect(await codeOf(() => nsm.lockPcr(index))).toBe('InvalidIndex');
    }
    for (const index of [-1, 1.5, 65536, Number.NaN, Infinity, '16' as unknown as number]) {
      expect(await codeOf(() => nsm.describePcr(index))).toBe('InvalidArgument');
      expect(await codeOf(() => nsm.extendPcr(index, Buffer.from('x')))).toBe('InvalidArgument');
      expect(await codeOf(() => nsm.lockPcr(index))).toBe('InvalidArgument');
    }
  });

  it('refuses extension data that is not bytes, or that would make a request over 4096 bytes', async () => {
    const nsm = new DevNsm({ pki });
    expect(await codeOf(() => nsm.extendPcr(16, 'text' as unknown as Uint8Array))).toBe('InvalidArgument');
    // {"ExtendPCR": {"index": 16, "data": <n bytes>}} is 27 bytes plus the data for 256 <= n < 65536:
    // a1, 69 "ExtendPCR", a2, 65 "index", 10, 64 "data", 59 <n:2>.
    const largest = 4096 - 27;
    expect(await codeOf(() => nsm.extendPcr(16, Buffer.alloc(largest + 1)))).toBe('InputTooLarge');
    expect((await nsm.describePcr(16)).data).toEqual(ZERO);
    await nsm.extendPcr(16, Buffer.alloc(largest));
    expect((await nsm.describePcr(16)).data).toEqual(extended(ZERO, Buffer.alloc(largest)));
  });

  it('hands out copies, so callers cannot change a PCR behind the NSM', async () => {
    const nsm = new DevNsm({ pki, pcrs: { 0: PCR0 } });
    (await nsm.describePcr(0)).data.fill(0);
    (await nsm.extendPcr(16, Buffer.from('x'))).fill(0);
    expect(hex((await nsm.describePcr(0)).data)).toBe(PCR0);
    expect((await nsm.describePcr(16)).data).toEqual(extended(ZERO, Buffer.from('x')));
  });

  it('returns 256 fresh random bytes per call', async () => {
    const nsm = new DevNsm({ pki });
    const [a, b] = [await nsm.getRandom(), await nsm.getRandom()];
    expect(a).toHaveLength(256);
    expect(b).toHaveLength(256);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});
