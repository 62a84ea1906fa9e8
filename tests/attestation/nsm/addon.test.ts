import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeviceNsm } from '../../../attestation/nsm/device-nsm';
import { loadNsmAddon, nsmAddonPath, openNsmDevice, type NsmAddon } from '../../../attestation/nsm/native/addon';
import { NsmError } from '../../../attestation/nsm/nsm';
import { encodeRequest } from '../../../attestation/nsm/protocol';
import { rejects } from './expect-nsm-error';

/** The real /dev/nsm exists only inside a Nitro Enclave. */
const hasDevice = fs.existsSync('/dev/nsm');
const linux = process.platform === 'linux';
const GET_RANDOM = encodeRequest({ type: 'GetRandom' });
/** A descriptor number nothing in this process has open. */
const UNUSED_FD = 987654;

function thrown(f: () => unknown): Error & { errno?: number; syscall?: string } {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

let dir: string;
let regularFile: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloister-nsm-'));
  regularFile = path.join(dir, 'not-an-nsm');
  fs.writeFileSync(regularFile, 'just a file');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

(hasDevice ? describe.skip : describe)('outside a Nitro Enclave (no /dev/nsm)', () => {
  test('every DeviceNsm operation is DEVICE_ABSENT, saying it needs an enclave and local mode uses the development NSM', async () => {
    const nsm = new DeviceNsm();
    const calls: Array<() => Promise<unknown>> = [
      () => nsm.attestation({ nonce: new Uint8Array([1]) }),
      () => nsm.describePcr(16),
      () => nsm.extendPcr(16, new Uint8Array([1])),
      () => nsm.lockPcr(16),
      () => nsm.getRandom(),
      () => nsm.lockPcrs(16),
      () => nsm.describeNsm(),
    ];
    for (const call of calls) {
      const error = await rejects(call(), 'DEVICE_ABSENT');
      expect(error.message).toMatch(/\/dev\/nsm/);
      expect(error.message).toMatch(/only inside a Nitro Enclave/);
      expect(error.message).toMatch(/development NSM/);
    }
    await expect(nsm.close()).resolves.toBeUndefined();
  });

  test('a request refused by the protocol is still refused as such, before the device is looked for', async () => {
    await rejects(new DeviceNsm().attestation({ nonce: new Uint8Array(2000) }), 'InputTooLarge');
  });
});

describe('an addon that is not built or does not load is DEVICE_ABSENT, saying what to do', () => {
  function absent(devicePath: string, file: string | null): NsmError {
    let caught: unknown;
    try {
      loadNsmAddon(devicePath, file);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NsmError);
    expect((caught as NsmError).code).toBe('DEVICE_ABSENT');
    expect((caught as NsmError).message).toMatch(/only inside a Nitro Enclave; local mode and tests use the development NSM/);
    return caught as NsmError;
  }

  test('not built, and no device either', () => {
    const message = absent(path.join(dir, 'no-such-device'), null).message;
    expect(message).toMatch(linux ? /There is no NSM device at .*no-such-device, and the NSM addon is not available here/ : /not built on/);
  });

  (linux ? test : test.skip)('not built, inside an enclave (the device exists): how to build it', () => {
    expect(absent(regularFile, null).message).toMatch(/not built: run `npm run install`/);
  });

  (linux ? test : test.skip)('a file that is not an addon', () => {
    const bogus = path.join(dir, 'bogus.node');
    fs.writeFileSync(bogus, 'not an ELF file');
    const error = absent(regularFile, bogus);
    expect(error.message).toMatch(/could not be loaded/);
    expect(error.cause).toBeDefined();
  });
});

(linux ? describe : describe.skip)('the cloister_nsm addon on Linux', () => {
  let addon: NsmAddon;
  beforeAll(() => {
    expect(nsmAddonPath()).toMatch(/build\/(Release|Debug)\/cloister_nsm\.node$/);
    addon = loadNsmAddon();
  });

  test('loads and exports open, request and close', () => {
    expect(typeof addon.open).toBe('function');
    expect(typeof addon.request).toBe('function');
    expect(typeof addon.close).toBe('function');
  });

  (hasDevice ? test.skip : test)("open('/dev/nsm') fails with ENOENT, which DeviceNsm reports as DEVICE_ABSENT", async () => {
    const error = thrown(() => addon.open('/dev/nsm'));
    expect(error.errno).toBe(os.constants.errno.ENOENT);
    expect(error.syscall).toBe('open');
    const absent = await rejects(new DeviceNsm().getRandom(), 'DEVICE_ABSENT');
    expect(absent.message).toContain('ENOENT');
    // The addon's errors come from the main realm, not jest's: compare by fields, not instanceof.
    expect((absent.cause as { errno?: number }).errno).toBe(os.constants.errno.ENOENT);
  });

  test('the ioctl runs: on a regular file it fails with ENOTTY', async () => {
    const fd = addon.open(regularFile);
    try {
      expect(Number.isInteger(fd)).toBe(true);
      const error = await addon.request(fd, GET_RANDOM).then(
        () => undefined,
        (e: Error & { errno?: number; syscall?: string }) => e,
      );
      expect(error?.errno).toBe(os.constants.errno.ENOTTY);
      expect(error?.syscall).toBe('ioctl');
    } finally {
      addon.close(fd);
    }
  });

  test('DeviceNsm on a regular file: DEVICE_ERROR naming ENOTTY, for every operation and for requests in parallel', async () => {
    const nsm = new DeviceNsm({ devicePath: regularFile });
    const errors = await Promise.all(
      [
        nsm.getRandom(),
        nsm.describePcr(16),
        nsm.extendPcr(16, new Uint8Array([1])),
        nsm.lockPcr(16),
        nsm.lockPcrs(16),
        nsm.attestation({ publicKey: new Uint8Array(100) }),
        nsm.describeNsm(),
        ...Array.from({ length: 16 }, () => nsm.getRandom()),
      ].map((p) => rejects(p, 'DEVICE_ERROR')),
    );
    for (const error of errors) expect(error.message).toMatch(/ENOTTY/);
    await nsm.close();
    // Closed, then opened again on the next call.
    await rejects(nsm.getRandom(), 'DEVICE_ERROR');
    await nsm.close();
  });

  test('a device that exists but cannot be opened read-write is DEVICE_ERROR naming errno', async () => {
    const error = await rejects(openNsmDevice(dir).send(GET_RANDOM), 'DEVICE_ERROR');
    expect(error.message).toMatch(/EISDIR/);
  });

  test('system errors of request and close carry errno: EBADF on a descriptor that is not open', async () => {
    const error = await addon.request(UNUSED_FD, GET_RANDOM).then(
      () => undefined,
      (e: Error & { errno?: number }) => e,
    );
    expect(error?.errno).toBe(os.constants.errno.EBADF);
    expect(thrown(() => addon.close(UNUSED_FD)).errno).toBe(os.constants.errno.EBADF);
  });

  test('arguments are checked in C', () => {
    const fd = addon.open(regularFile);
    try {
      const bad = addon as unknown as Record<'open' | 'request' | 'close', (...args: unknown[]) => unknown>;
      expect(thrown(() => bad.open(42))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.open())).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.open(''))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.open('/tmp/a\0b'))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.request(fd, 'GetRandom'))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.request(fd, new Int8Array(4)))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.request(-1, GET_RANDOM))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.request(1.5, GET_RANDOM))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.request('3', GET_RANDOM))).toHaveProperty('name', 'TypeError');
      expect(thrown(() => bad.request(fd, new Uint8Array(0)))).toHaveProperty('name', 'RangeError');
      expect(thrown(() => bad.request(fd, new Uint8Array(4097)))).toHaveProperty('name', 'RangeError');
      expect(thrown(() => bad.close(-3))).toHaveProperty('name', 'TypeError');
    } finally {
      addon.close(fd);
    }
  });
});
