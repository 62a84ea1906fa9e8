import { Decoder } from 'cbor-x';
import { encodeRequest, NSM_FIELD_MAX, NSM_REQUEST_MAX, type NsmRequest } from '../../../attestation/nsm/protocol';
import { refuses } from './expect-nsm-error';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const u8 = (...values: number[]) => new Uint8Array(values);

describe('NSM request encodings are byte for byte the known ones (platform-facts.md)', () => {
  const known: Array<[string, NsmRequest, string]> = [
    ['DescribeNSM', { type: 'DescribeNSM' }, '6b44657363726962654e534d'],
    ['GetRandom', { type: 'GetRandom' }, '6947657452616e646f6d'],
    ['DescribePCR{index:0}', { type: 'DescribePCR', index: 0 }, 'a16b4465736372696265504352a165696e64657800'],
    [
      "ExtendPCR{index:16, data:h'010203'}",
      { type: 'ExtendPCR', index: 16, data: u8(1, 2, 3) },
      'a169457874656e64504352a265696e646578106464617461' + '43010203',
    ],
    ['LockPCR{index:16}', { type: 'LockPCR', index: 16 }, 'a1674c6f636b504352a165696e64657810'],
    ['LockPCRs{range:32}', { type: 'LockPCRs', range: 32 }, 'a1684c6f636b50435273a16572616e67651820'],
    [
      "Attestation{user_data:null, nonce:h'0102', public_key:null}",
      { type: 'Attestation', nonce: u8(1, 2) },
      'a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e63654201026a7075626c69635f6b6579f6',
    ],
  ];
  test.each(known)('%s', (_name, request, expected) => {
    expect(hex(encodeRequest(request))).toBe(expected);
  });

  test('explicit nulls encode like absent optionals', () => {
    expect(hex(encodeRequest({ type: 'Attestation', userData: null, nonce: u8(1, 2), publicKey: null }))).toBe(
      'a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e63654201026a7075626c69635f6b6579f6',
    );
  });

  test('Attestation with no fields at all: three nulls in the order user_data, nonce, public_key', () => {
    expect(hex(encodeRequest({ type: 'Attestation' }))).toBe(
      'a16b4174746573746174696f6e' + 'a3' + '69757365725f64617461f6' + '656e6f6e6365f6' + '6a7075626c69635f6b6579f6',
    );
  });

  test('Attestation with every field: byte strings (never tag 64) in the NSM order', () => {
    const encoded = encodeRequest({ type: 'Attestation', publicKey: u8(9), userData: u8(7, 7), nonce: new Uint8Array(0) });
    expect(hex(encoded)).toBe(
      'a16b4174746573746174696f6e' + 'a3' + '69757365725f64617461' + '420707' + '656e6f6e6365' + '40' + '6a7075626c69635f6b6579' + '4109',
    );
  });

  test('a Uint8Array that is a view into a larger buffer encodes only its own bytes', () => {
    const backing = new Uint8Array([0xee, 1, 2, 3, 0xee]);
    const view = backing.subarray(1, 4);
    expect(hex(encodeRequest({ type: 'ExtendPCR', index: 16, data: view }))).toBe('a169457874656e64504352a265696e646578106464617461' + '43010203');
  });

  test('indexes and ranges use the shortest integer encoding (u16 on the wire)', () => {
    expect(hex(encodeRequest({ type: 'DescribePCR', index: 23 }))).toBe('a16b4465736372696265504352a165696e64657817');
    expect(hex(encodeRequest({ type: 'DescribePCR', index: 24 }))).toBe('a16b4465736372696265504352a165696e6465781818');
    expect(hex(encodeRequest({ type: 'DescribePCR', index: 256 }))).toBe('a16b4465736372696265504352a165696e646578190100');
    expect(hex(encodeRequest({ type: 'LockPCR', index: 65535 }))).toBe('a1674c6f636b504352a165696e64657819ffff');
  });

  test('an encoding is a fresh copy, untouched by later encodings', () => {
    const first = encodeRequest({ type: 'DescribePCR', index: 0 });
    const before = hex(first);
    encodeRequest({ type: 'Attestation', userData: new Uint8Array(1000).fill(0xaa) });
    expect(hex(first)).toBe(before);
  });

  test('every encoding decodes back to the externally tagged shape', () => {
    const decoder = new Decoder({ mapsAsObjects: false, useRecords: false } as ConstructorParameters<typeof Decoder>[0]);
    const decoded = decoder.decode(encodeRequest({ type: 'ExtendPCR', index: 17, data: u8(5) })) as Map<string, Map<string, unknown>>;
    expect([...decoded.keys()]).toEqual(['ExtendPCR']);
    const body = decoded.get('ExtendPCR')!;
    expect([...body.keys()]).toEqual(['index', 'data']);
    expect(body.get('index')).toBe(17);
    expect(Buffer.from(body.get('data') as Uint8Array)).toEqual(Buffer.from([5]));
  });
});

describe('limits are enforced before anything is sent', () => {
  for (const field of ['userData', 'nonce', 'publicKey'] as const) {
    test(`${field}: 1024 bytes pass, 1025 bytes are InputTooLarge`, () => {
      expect(encodeRequest({ type: 'Attestation', [field]: new Uint8Array(NSM_FIELD_MAX) }).length).toBeLessThanOrEqual(NSM_REQUEST_MAX);
      const error = refuses(() => encodeRequest({ type: 'Attestation', [field]: new Uint8Array(NSM_FIELD_MAX + 1) }), 'InputTooLarge');
      expect(error.message).toMatch(/1025 bytes; at most 1024/);
    });
  }

  test('all three fields at their maximum still fit one request', () => {
    const max = new Uint8Array(NSM_FIELD_MAX);
    const encoded = encodeRequest({ type: 'Attestation', userData: max, nonce: max, publicKey: max });
    expect(encoded.length).toBeLessThanOrEqual(NSM_REQUEST_MAX);
  });

  test('a request of exactly 4096 bytes passes; 4097 bytes is InputTooLarge', () => {
    // ExtendPCR's overhead is constant once the data needs a two-byte length.
    const overhead = encodeRequest({ type: 'ExtendPCR', index: 16, data: new Uint8Array(1000) }).length - 1000;
    const fits = NSM_REQUEST_MAX - overhead;
    expect(encodeRequest({ type: 'ExtendPCR', index: 16, data: new Uint8Array(fits) }).length).toBe(NSM_REQUEST_MAX);
    const error = refuses(() => encodeRequest({ type: 'ExtendPCR', index: 16, data: new Uint8Array(fits + 1) }), 'InputTooLarge');
    expect(error.message).toMatch(/4097 bytes/);
  });

  const badIndexes: unknown[] = [-1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '16', null, undefined, 16n];
  for (const type of ['DescribePCR', 'ExtendPCR', 'LockPCR'] as const) {
    test.each(badIndexes.map((v) => [`${typeof v} ${String(v)}`, v]))(`${type} refuses the index %s as InvalidArgument`, (_label, index) => {
      refuses(() => encodeRequest({ type, index, data: u8(1) } as unknown as NsmRequest), 'InvalidArgument');
    });
  }
  test.each(badIndexes.map((v) => [`${typeof v} ${String(v)}`, v]))('LockPCRs refuses the range %s as InvalidArgument', (_label, range) => {
    refuses(() => encodeRequest({ type: 'LockPCRs', range } as unknown as NsmRequest), 'InvalidArgument');
  });

  test('bytes that are not a Uint8Array are InvalidArgument', () => {
    for (const data of ['0102', [1, 2], new Uint16Array(2), new ArrayBuffer(2), 5]) {
      refuses(() => encodeRequest({ type: 'ExtendPCR', index: 16, data } as unknown as NsmRequest), 'InvalidArgument');
      refuses(() => encodeRequest({ type: 'Attestation', nonce: data } as unknown as NsmRequest), 'InvalidArgument');
    }
    refuses(() => encodeRequest({ type: 'ExtendPCR', index: 16 } as unknown as NsmRequest), 'InvalidArgument');
  });

  test('an unknown request type or a non-object is InvalidArgument', () => {
    refuses(() => encodeRequest({ type: 'Reboot' } as unknown as NsmRequest), 'InvalidArgument');
    refuses(() => encodeRequest(null as unknown as NsmRequest), 'InvalidArgument');
    refuses(() => encodeRequest('GetRandom' as unknown as NsmRequest), 'InvalidArgument');
  });
});
