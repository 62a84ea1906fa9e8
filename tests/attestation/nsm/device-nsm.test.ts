import { Decoder, Encoder } from 'cbor-x';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { DeviceNsm, type NsmTransport } from '../../../attestation/nsm/device-nsm';
import { NsmError, type Nsm } from '../../../attestation/nsm/nsm';
import { rejects } from './expect-nsm-error';

const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);
const cbor = (value: unknown): Uint8Array => new Uint8Array(encoder.encode(value));
const decode = (bytes: Uint8Array): unknown =>
  new Decoder({ mapsAsObjects: false, useRecords: false } as ConstructorParameters<typeof Decoder>[0]).decode(bytes);

/**
 * A stand-in for the NSM behind the ioctl: it reads the CBOR request the way the NSM does and
 * answers in the NSM's format. 32 SHA-384 PCRs; 0-15 locked, as after boot.
 */
class FakeNsmDevice {
  readonly pcrs = Array.from({ length: 32 }, () => Buffer.alloc(48));
  readonly locked = new Set(Array.from({ length: 16 }, (_, i) => i));
  readonly requests: Uint8Array[] = [];

  readonly transport: NsmTransport = async (request) => {
    this.requests.push(new Uint8Array(request));
    return cbor(this.answer(decode(request)));
  };

  private answer(message: unknown): unknown {
    if (message === 'DescribeNSM') {
      return {
        DescribeNSM: {
          version_major: 1,
          version_minor: 0,
          version_patch: 0,
          module_id: 'i-0fake-enc0fake',
          max_pcrs: 32,
          locked_pcrs: [...this.locked].sort((a, b) => a - b),
          digest: 'SHA384',
        },
      };
    }
    if (message === 'GetRandom') return { GetRandom: { random: randomBytes(256) } };
    if (!(message instanceof Map) || message.size !== 1) return { Error: 'InvalidArgument' };
    const [name, body] = [...message.entries()][0] as [string, Map<string, unknown>];
    const index = body.get('index') as number;
    switch (name) {
      case 'DescribePCR':
        if (index >= 32) return { Error: 'InvalidIndex' };
        return { DescribePCR: { lock: this.locked.has(index), data: this.pcrs[index] } };
      case 'ExtendPCR': {
        if (index >= 32) return { Error: 'InvalidIndex' };
        if (this.locked.has(index)) return { Error: 'ReadOnlyIndex' };
        const data = body.get('data') as Uint8Array;
        this.pcrs[index] = createHash('sha384').update(this.pcrs[index]!).update(data).digest();
        return { ExtendPCR: { data: this.pcrs[index] } };
      }
      case 'LockPCR':
        if (index >= 32) return { Error: 'InvalidIndex' };
        if (index < 16) return { Error: 'ReadOnlyIndex' };
        this.locked.add(index);
        return 'LockPCR';
      case 'LockPCRs': {
        const range = body.get('range') as number;
        if (range > 32) return { Error: 'InvalidIndex' };
        for (let i = 0; i < range; i++) this.locked.add(i);
        return 'LockPCRs';
      }
      case 'Attestation': {
        // A stand-in document that echoes what the NSM was asked to sign, keys in order.
        const fields = [...body.entries()].map(([k, v]) => [k, v === null ? null : Buffer.from(v as Uint8Array).toString('hex')]);
        return { Attestation: { document: Buffer.from(JSON.stringify(fields)) } };
      }
      default:
        return { Error: 'InvalidOperation' };
    }
  }
}

describe('DeviceNsm over an injected transport', () => {
  let device: FakeNsmDevice;
  let nsm: DeviceNsm;
  beforeEach(() => {
    device = new FakeNsmDevice();
    nsm = new DeviceNsm({ transport: device.transport });
  });

  test('implements the Nsm interface', () => {
    const asInterface: Nsm = nsm;
    expect(typeof asInterface.attestation).toBe('function');
  });

  test('attestation sends user_data, nonce and public_key (nulls for absent ones) and returns the document', async () => {
    const doc = await nsm.attestation({ nonce: new Uint8Array([1, 2]) });
    expect(Buffer.from(device.requests[0]!).toString('hex')).toBe(
      'a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e63654201026a7075626c69635f6b6579f6',
    );
    expect(JSON.parse(Buffer.from(doc).toString())).toEqual([
      ['user_data', null],
      ['nonce', '0102'],
      ['public_key', null],
    ]);
    const all = await nsm.attestation({ userData: new Uint8Array([0xaa]), nonce: new Uint8Array([0xbb]), publicKey: new Uint8Array([0xcc]) });
    expect(JSON.parse(Buffer.from(all).toString())).toEqual([
      ['user_data', 'aa'],
      ['nonce', 'bb'],
      ['public_key', 'cc'],
    ]);
  });

  test('describePcr, extendPcr (SHA-384 of old ‖ data) and lockPcr round-trip', async () => {
    expect(await nsm.describePcr(16)).toEqual({ locked: false, data: new Uint8Array(48) });
    const data = new Uint8Array([1, 2, 3]);
    const expected = new Uint8Array(createHash('sha384').update(Buffer.alloc(48)).update(data).digest());
    expect(await nsm.extendPcr(16, data)).toEqual(expected);
    expect(await nsm.describePcr(16)).toEqual({ locked: false, data: expected });
    await expect(nsm.lockPcr(16)).resolves.toBeUndefined();
    expect(await nsm.describePcr(16)).toEqual({ locked: true, data: expected });
    expect((await nsm.describePcr(0)).locked).toBe(true);
    expect(Buffer.from(device.requests[1]!).toString('hex')).toBe('a169457874656e64504352a265696e646578106464617461' + '43010203');
    expect(Buffer.from(device.requests[3]!).toString('hex')).toBe('a1674c6f636b504352a165696e64657810');
  });

  test('lockPcrs, getRandom and describeNsm round-trip', async () => {
    await expect(nsm.lockPcrs(20)).resolves.toBeUndefined();
    expect(Buffer.from(device.requests[0]!).toString('hex')).toBe('a1684c6f636b50435273a165' + '72616e6765' + '14');
    const random = await nsm.getRandom();
    expect(random).toBeInstanceOf(Uint8Array);
    expect(random.length).toBe(256);
    const description = await nsm.describeNsm();
    expect(description).toEqual({
      versionMajor: 1,
      versionMinor: 0,
      versionPatch: 0,
      moduleId: 'i-0fake-enc0fake',
      maxPcrs: 32,
      lockedPcrs: Array.from({ length: 20 }, (_, i) => i),
      digest: 'SHA384',
    });
  });

  test("the NSM's refusals arrive as NsmErrors with its own names", async () => {
    await rejects(nsm.extendPcr(3, new Uint8Array([1])), 'ReadOnlyIndex');
    await nsm.lockPcr(17);
    await rejects(nsm.extendPcr(17, new Uint8Array([1])), 'ReadOnlyIndex');
    await rejects(nsm.describePcr(40), 'InvalidIndex');
    await rejects(nsm.lockPcrs(33), 'InvalidIndex');
  });

  test('requests over the limits are refused before anything is sent', async () => {
    await rejects(nsm.attestation({ userData: new Uint8Array(1025) }), 'InputTooLarge');
    await rejects(nsm.attestation({ nonce: new Uint8Array(1025) }), 'InputTooLarge');
    await rejects(nsm.attestation({ publicKey: new Uint8Array(1025) }), 'InputTooLarge');
    await rejects(nsm.extendPcr(16, new Uint8Array(4096)), 'InputTooLarge');
    await rejects(nsm.describePcr(-1), 'InvalidArgument');
    await rejects(nsm.extendPcr(65536, new Uint8Array(1)), 'InvalidArgument');
    await rejects(nsm.lockPcr(1.5), 'InvalidArgument');
    await rejects(nsm.lockPcrs(Number.NaN), 'InvalidArgument');
    await rejects(nsm.extendPcr(16, 'abc' as unknown as Uint8Array), 'InvalidArgument');
    await rejects(nsm.attestation(undefined as unknown as object), 'InvalidArgument');
    expect(device.requests).toHaveLength(0);
  });

  test('a transport that throws is DEVICE_ERROR with the cause kept; an NsmError passes through', async () => {
    const boom = new Error('socket closed');
    const failing = new DeviceNsm({ transport: () => Promise.reject(boom) });
    const error = await rejects(failing.getRandom(), 'DEVICE_ERROR');
    expect(error.message).toContain('socket closed');
    expect(error.cause).toBe(boom);
    const syncThrow = new DeviceNsm({
      transport: () => {
        throw new TypeError('not callable');
      },
    });
    await rejects(syncThrow.getRandom(), 'DEVICE_ERROR');
    const absent = new DeviceNsm({ transport: async () => Promise.reject(new NsmError('DEVICE_ABSENT', 'no device')) });
    await rejects(absent.describePcr(0), 'DEVICE_ABSENT');
  });

  test('a synchronous transport works too', async () => {
    const sync = new DeviceNsm({ transport: () => cbor({ GetRandom: { random: Buffer.from([9, 9]) } }) });
    expect(await sync.getRandom()).toEqual(new Uint8Array([9, 9]));
  });

  test("wrong answers are InvalidResponse: another request's answer, garbage, not bytes", async () => {
    const wrongKind = new DeviceNsm({ transport: () => cbor('LockPCR') });
    await rejects(wrongKind.lockPcrs(16), 'InvalidResponse');
    await rejects(wrongKind.getRandom(), 'InvalidResponse');
    const garbage = new DeviceNsm({ transport: () => new Uint8Array([0xff, 0x00]) });
    await rejects(garbage.attestation({}), 'InvalidResponse');
    const text = new DeviceNsm({ transport: () => 'a1' as unknown as Uint8Array });
    await rejects(text.describeNsm(), 'InvalidResponse');
  });

  test('property: random answers from the transport only ever give NsmErrors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 5 }), async (answer, op) => {
        const random = new DeviceNsm({ transport: () => answer });
        const calls: Array<() => Promise<unknown>> = [
          () => random.attestation({ nonce: new Uint8Array([1]) }),
          () => random.describePcr(16),
          () => random.extendPcr(16, new Uint8Array([1])),
          () => random.lockPcr(16),
          () => random.getRandom(),
          () => random.describeNsm(),
        ];
        try {
          await calls[op]!();
        } catch (e) {
          if (!(e instanceof NsmError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
