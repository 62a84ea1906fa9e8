import { X509Certificate } from 'node:crypto';
import { DevNsm, DevPki, DevPkiError } from '../../../attestation/dev';
import { NsmError } from '../../../attestation/nsm/nsm';
import { chainOf, DAY, decodeDocument, HOUR, manualClock, MINUTE, tempDirs } from './support';

const dirs = tempDirs();
afterAll(dirs.cleanup);

/** The leaf and cabundle of a document, and the document's own timestamp. */
async function issued(nsm: DevNsm) {
  const decoded = decodeDocument(await nsm.attestation({}));
  return { ...chainOf(decoded), timestamp: decoded.payload.get('timestamp') as number };
}

/** Whether every certificate of the document is valid at its timestamp and signed by the one above. */
function validAtItsTimestamp(doc: Awaited<ReturnType<typeof issued>>): boolean {
  const chain = [...doc.cabundle, doc.leaf];
  const at = new Date(doc.timestamp);
  return chain.every((cert, i) => new Date(cert.validFrom) <= at && at <= new Date(cert.validTo) && cert.verify((i === 0 ? cert : chain[i - 1]!).publicKey));
}

const windowOf = (cert: X509Certificate) => ({ from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo) });

describe('leaf and CA renewal', () => {
  it('keeps one leaf while more than 30 minutes remain, then issues a fresh 3-hour leaf', async () => {
    const clock = manualClock();
    const nsm = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    const first = await issued(nsm);
    const issuedAt = windowOf(first.leaf).from;

    clock.set(issuedAt + 2 * HOUR + 29 * MINUTE);
    const later = await issued(nsm);
    expect(later.leaf.raw.equals(first.leaf.raw)).toBe(true);
    expect(validAtItsTimestamp(later)).toBe(true);

    clock.set(issuedAt + 2 * HOUR + 30 * MINUTE + 1);
    const renewed = await issued(nsm);
    expect(renewed.leaf.raw.equals(first.leaf.raw)).toBe(false);
    expect(windowOf(renewed.leaf)).toEqual({ from: Math.floor(clock.now() / 1000) * 1000, to: Math.floor(clock.now() / 1000) * 1000 + 3 * HOUR });
    expect(renewed.leaf.serialNumber).not.toBe(first.leaf.serialNumber);
    expect(renewed.leaf.publicKey.export({ format: 'jwk' })).not.toEqual(first.leaf.publicKey.export({ format: 'jwk' }));
    // Only the leaf turned over: the CAs have plenty of life left.
    expect(renewed.cabundle.map((c) => c.raw)).toEqual(first.cabundle.map((c) => c.raw));
    expect(validAtItsTimestamp(renewed)).toBe(true);
  });

  it('honours a caller-chosen renewal margin and refuses one the leaf could never satisfy', async () => {
    const clock = manualClock();
    const pki = await DevPki.open({ dir: dirs.make(), now: clock.now });
    const nsm = new DevNsm({ pki, renewLeafBeforeMs: 2 * HOUR });
    const first = await issued(nsm);
    clock.advance(HOUR - 1000);
    expect((await issued(nsm)).leaf.raw.equals(first.leaf.raw)).toBe(true);
    clock.advance(2000);
    expect((await issued(nsm)).leaf.raw.equals(first.leaf.raw)).toBe(false);
    expect(() => new DevNsm({ pki, renewLeafBeforeMs: 3 * HOUR })).toThrow(RangeError);
    expect(() => new DevNsm({ pki, renewLeafBeforeMs: -1 })).toThrow(RangeError);
  });

  it('reissues the leaf if the clock goes back before its window', async () => {
    const clock = manualClock();
    const nsm = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    const start = clock.now();
    clock.advance(DAY / 2);
    const first = await issued(nsm);
    clock.set(start + MINUTE);
    const earlier = await issued(nsm);
    expect(earlier.leaf.raw.equals(first.leaf.raw)).toBe(false);
    expect(validAtItsTimestamp(earlier)).toBe(true);
  });

  it('reissues each CA before it could no longer cover the level below, with everything under it', async () => {
    const clock = manualClock();
    const nsm = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    const start = await issued(nsm);
    const t0 = windowOf(start.leaf).from;
    const raw = (doc: Awaited<ReturnType<typeof issued>>) => [...doc.cabundle, doc.leaf].map((c) => c.raw.toString('hex'));

    // The 1-day instance CA can still cover a 3-hour leaf at 21 h; not after.
    clock.set(t0 + 21 * HOUR);
    const beforeInstance = await issued(nsm);
    expect(raw(beforeInstance).slice(0, 4)).toEqual(raw(start).slice(0, 4));
    clock.set(t0 + 21 * HOUR + 1000);
    const afterInstance = await issued(nsm);
    expect(raw(afterInstance).slice(0, 3)).toEqual(raw(start).slice(0, 3));
    expect(raw(afterInstance)[3]).not.toBe(raw(start)[3]);
    expect(raw(afterInstance)[4]).not.toBe(raw(beforeInstance)[4]);
    expect(validAtItsTimestamp(afterInstance)).toBe(true);

    // The 6-day zonal CA is reissued once it cannot cover a 1-day instance CA; the instance follows.
    clock.set(t0 + 5 * DAY + 1000);
    const afterZonal = await issued(nsm);
    expect(raw(afterZonal).slice(0, 2)).toEqual(raw(start).slice(0, 2));
    expect(raw(afterZonal)[2]).not.toBe(raw(start)[2]);
    expect(raw(afterZonal)[3]).not.toBe(raw(afterInstance)[3]);
    expect(validAtItsTimestamp(afterZonal)).toBe(true);

    // The 20-day regional CA, once it cannot cover a 6-day zonal CA; the root never changes.
    clock.set(t0 + 14 * DAY + 1000);
    const afterRegional = await issued(nsm);
    expect(raw(afterRegional)[0]).toBe(raw(start)[0]);
    for (const i of [1, 2, 3, 4]) expect(raw(afterRegional)[i]).not.toBe(raw(afterZonal)[i]);
    expect(validAtItsTimestamp(afterRegional)).toBe(true);
    expect(afterRegional.cabundle[0]!.raw.equals(nsm.pki.rootCertificateDer)).toBe(true);
  });

  it('issues one leaf for many concurrent requests', async () => {
    const nsm = await DevNsm.open({ dir: dirs.make() });
    const docs = await Promise.all(Array.from({ length: 12 }, () => issued(nsm)));
    for (const doc of docs) {
      expect(doc.leaf.raw.equals(docs[0]!.leaf.raw)).toBe(true);
      expect(doc.cabundle.map((c) => c.raw)).toEqual(docs[0]!.cabundle.map((c) => c.raw));
    }
  });

  it('keeps documents valid through a long run of moving time', async () => {
    const clock = manualClock();
    const nsm = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    const leaves = new Set<string>();
    for (let step = 0; step < 40; step++) {
      const doc = await issued(nsm);
      expect(validAtItsTimestamp(doc)).toBe(true);
      expect(Date.parse(doc.leaf.validTo) - doc.timestamp).toBeGreaterThanOrEqual(30 * MINUTE);
      leaves.add(doc.leaf.serialNumber);
      clock.advance(47 * MINUTE);
    }
    // A leaf serves 2 h 30 min, so a new one every 4th step of 47 minutes (steps 0, 4, ... 24), plus
    // one when the instance CA turns over after 21 h (step 27, at 21 h 09), then 31, 35 and 39.
    expect(leaves.size).toBe(11);
  });

  it('refuses to sign once the clock leaves the root window, and recovers when it comes back', async () => {
    const clock = manualClock();
    const nsm = await DevNsm.open({ dir: dirs.make(), now: clock.now });
    const first = await issued(nsm);
    const start = clock.now();
    clock.set(start + 30 * 365 * DAY);
    const refused = await nsm.attestation({}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(NsmError);
    expect(refused).toMatchObject({ code: 'InternalError' });
    expect((refused as NsmError).cause).toBeInstanceOf(DevPkiError);
    expect((refused as NsmError).cause).toMatchObject({ code: 'ROOT_EXPIRED' });
    clock.set(start + MINUTE);
    const again = await issued(nsm);
    expect(again.leaf.raw.equals(first.leaf.raw)).toBe(true);
    expect(validAtItsTimestamp(again)).toBe(true);
  });
});
