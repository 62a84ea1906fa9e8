import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { NsmError } from '../../../attestation/nsm/nsm';
import { decodeResponse, NSM_ERROR_NAMES, type NsmRequestType } from '../../../attestation/nsm/protocol';
import { refuses } from './expect-nsm-error';

const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);
/** CBOR of a JS value: objects are text-keyed maps in insertion order, Buffers byte strings. */
const cbor = (value: unknown): Uint8Array => new Uint8Array(encoder.encode(value));
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const bytes = (n: number, fill = 0xab) => Buffer.alloc(n, fill);

const withoutKey = (object: object, key: string) => Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));

const TYPES: NsmRequestType[] = ['DescribeNSM', 'GetRandom', 'DescribePCR', 'ExtendPCR', 'LockPCR', 'LockPCRs', 'Attestation'];

/** A well-formed answer to each request type. */
const GOOD: Record<NsmRequestType, unknown> = {
  DescribeNSM: {
    DescribeNSM: {
      version_major: 1,
      version_minor: 0,
      version_patch: 0,
      module_id: 'i-0123456789abcdef0-enc0123456789abcdef',
      max_pcrs: 32,
      locked_pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
      digest: 'SHA384',
    },
  },
  GetRandom: { GetRandom: { random: bytes(256, 7) } },
  DescribePCR: { DescribePCR: { lock: true, data: bytes(48, 1) } },
  ExtendPCR: { ExtendPCR: { data: bytes(48, 2) } },
  LockPCR: 'LockPCR',
  LockPCRs: 'LockPCRs',
  Attestation: { Attestation: { document: bytes(4000, 0x84) } },
};

describe('decoding every response shape', () => {
  test('Attestation: {"Attestation": {"document": bstr}} → the document bytes', () => {
    // Written out by hand: a1 "Attestation" a1 "document" 44 d2844401
    const out = decodeResponse('Attestation', fromHex('a16b4174746573746174696f6ea168646f63756d656e7444d2844401'));
    expect(out).toEqual(new Uint8Array([0xd2, 0x84, 0x44, 0x01]));
    expect(decodeResponse('Attestation', cbor(GOOD.Attestation))).toEqual(new Uint8Array(bytes(4000, 0x84)));
  });

  test('GetRandom: {"GetRandom": {"random": bstr}} → the random bytes', () => {
    expect(decodeResponse('GetRandom', fromHex('a16947657452616e646f6da16672616e646f6d420102'))).toEqual(new Uint8Array([1, 2]));
    expect(decodeResponse('GetRandom', cbor(GOOD.GetRandom))).toEqual(new Uint8Array(bytes(256, 7)));
  });

  test('DescribePCR: {"DescribePCR": {"lock": bool, "data": bstr}} → {locked, data}', () => {
    expect(decodeResponse('DescribePCR', cbor(GOOD.DescribePCR))).toEqual({ locked: true, data: new Uint8Array(bytes(48, 1)) });
    expect(decodeResponse('DescribePCR', cbor({ DescribePCR: { lock: false, data: bytes(48, 0) } }))).toEqual({
      locked: false,
      data: new Uint8Array(48),
    });
    // Field order does not matter to a map.
    expect(decodeResponse('DescribePCR', cbor({ DescribePCR: { data: bytes(48, 3), lock: false } })).data).toEqual(new Uint8Array(bytes(48, 3)));
  });

  test('ExtendPCR: {"ExtendPCR": {"data": bstr}} → the new PCR value', () => {
    expect(decodeResponse('ExtendPCR', cbor(GOOD.ExtendPCR))).toEqual(new Uint8Array(bytes(48, 2)));
  });

  test('LockPCR and LockPCRs: the bare texts', () => {
    expect(decodeResponse('LockPCR', fromHex('674c6f636b504352'))).toBeUndefined();
    expect(decodeResponse('LockPCRs', fromHex('684c6f636b50435273'))).toBeUndefined();
  });

  test('DescribeNSM: every field, typed', () => {
    expect(decodeResponse('DescribeNSM', cbor(GOOD.DescribeNSM))).toEqual({
      versionMajor: 1,
      versionMinor: 0,
      versionPatch: 0,
      moduleId: 'i-0123456789abcdef0-enc0123456789abcdef',
      maxPcrs: 32,
      lockedPcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
      digest: 'SHA384',
    });
  });

  test('indefinite-length maps decode like definite ones', () => {
    // {_ "GetRandom": {_ "random": h'0102'}}
    const indefinite = fromHex('bf6947657452616e646f6dbf6672616e646f6d420102ffff');
    expect(decodeResponse('GetRandom', indefinite)).toEqual(new Uint8Array([1, 2]));
  });

  test('fields a newer NSM might add are ignored, as its own client does', () => {
    const out = decodeResponse('ExtendPCR', cbor({ ExtendPCR: { data: bytes(48, 5), extra: 'x' } }));
    expect(out).toEqual(new Uint8Array(bytes(48, 5)));
  });

  test('returned bytes are fresh copies, not views into the response', () => {
    const response = cbor(GOOD.GetRandom);
    const out = decodeResponse('GetRandom', response);
    response.fill(0);
    expect(out).toEqual(new Uint8Array(bytes(256, 7)));
    expect(Buffer.isBuffer(out)).toBe(false);
    expect(out.buffer.byteLength).toBe(256);
  });
});

describe('{"Error": name} becomes NsmError(name) for every name and every request', () => {
  const names = Object.keys(NSM_ERROR_NAMES);
  test("the names are exactly the NSM's eight", () => {
    expect(names.sort()).toEqual(
      ['BufferTooSmall', 'InputTooLarge', 'InternalError', 'InvalidArgument', 'InvalidIndex', 'InvalidOperation', 'InvalidResponse', 'ReadOnlyIndex'].sort(),
    );
  });
  const cases = TYPES.flatMap((type) => names.map((name) => [type, name] as const));
  test.each(cases)('%s answered with Error %s', (type, name) => {
    const error = refuses(() => decodeResponse(type, cbor({ Error: name })), name);
    expect(error.message).toContain(name);
    expect(error.message).toContain(type);
  });
  test('by hand: {"Error": "InvalidIndex"}', () => {
    refuses(() => decodeResponse('DescribePCR', fromHex('a1654572726f726c496e76616c6964496e646578')), 'InvalidIndex');
  });
});

describe('anything else is InvalidResponse', () => {
  const wrong: Array<[string, NsmRequestType, unknown]> = [
    // The answer to another request.
    ...TYPES.flatMap((type) =>
      TYPES.filter((other) => other !== type).map((other): [string, NsmRequestType, unknown] => [`${other}'s answer`, type, GOOD[other]]),
    ),
    ['an unknown error name', 'GetRandom', { Error: 'Unplugged' }],
    ['an error name in another case', 'GetRandom', { Error: 'invalidargument' }],
    ['an error as a number', 'GetRandom', { Error: 3 }],
    ['an error as a map', 'GetRandom', { Error: { code: 'InternalError' } }],
    ['an error plus a result', 'GetRandom', { Error: 'InternalError', GetRandom: { random: bytes(2) } }],
    ['two entries', 'GetRandom', { GetRandom: { random: bytes(2) }, Attestation: { document: bytes(2) } }],
    ['an empty map', 'GetRandom', {}],
    ['the unit text', 'GetRandom', 'GetRandom'],
    ['an array', 'GetRandom', ['GetRandom', { random: bytes(2) }]],
    ['a number', 'GetRandom', 7],
    ['null', 'GetRandom', null],
    ['a byte string', 'GetRandom', bytes(8)],
    ['a non-text key', 'GetRandom', new Map<unknown, unknown>([[1, { random: bytes(2) }]])],
    ['a body that is null', 'GetRandom', { GetRandom: null }],
    ['a body that is bytes', 'GetRandom', { GetRandom: bytes(4) }],
    ['random missing', 'GetRandom', { GetRandom: {} }],
    ['random as text', 'GetRandom', { GetRandom: { random: 'abcd' } }],
    ['random as an array of numbers', 'GetRandom', { GetRandom: { random: [1, 2, 3] } }],
    ['document missing', 'Attestation', { Attestation: {} }],
    ['document empty', 'Attestation', { Attestation: { document: bytes(0) } }],
    ['document as text', 'Attestation', { Attestation: { document: 'd284' } }],
    ['document under another name', 'Attestation', { Attestation: { doc: bytes(10) } }],
    ['lock as an integer', 'DescribePCR', { DescribePCR: { lock: 1, data: bytes(48) } }],
    ['lock missing', 'DescribePCR', { DescribePCR: { data: bytes(48) } }],
    ['data missing', 'DescribePCR', { DescribePCR: { lock: false } }],
    ['data of 47 bytes', 'DescribePCR', { DescribePCR: { lock: false, data: bytes(47) } }],
    ['data of 0 bytes', 'ExtendPCR', { ExtendPCR: { data: bytes(0) } }],
    ['data of 49 bytes', 'ExtendPCR', { ExtendPCR: { data: bytes(49) } }],
    ['data as text', 'ExtendPCR', { ExtendPCR: { data: '00'.repeat(48) } }],
    ['LockPCR as a map', 'LockPCR', { LockPCR: null }],
    ['LockPCR as a map of a map', 'LockPCR', { LockPCR: {} }],
    ['LockPCR in another case', 'LockPCR', 'lockpcr'],
    ['LockPCRs as a map', 'LockPCRs', { LockPCRs: {} }],
    ['version_major negative', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, version_major: -1 } }],
    ['version_minor above u16', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, version_minor: 70000 } }],
    ['version_patch fractional', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, version_patch: 1.5 } }],
    ['module_id as bytes', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, module_id: bytes(4) } }],
    ['max_pcrs as text', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, max_pcrs: '32' } }],
    ['locked_pcrs not an array', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, locked_pcrs: 16 } }],
    ['locked_pcrs with text', 'DescribeNSM', { DescribeNSM: { ...(GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, locked_pcrs: [0, '1'] } }],
    ['digest missing', 'DescribeNSM', { DescribeNSM: withoutKey((GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, 'digest') }],
    ['module_id missing', 'DescribeNSM', { DescribeNSM: withoutKey((GOOD.DescribeNSM as { DescribeNSM: object }).DescribeNSM, 'module_id') }],
  ];
  test.each(wrong)('%s (to %s)', (_name, type, value) => {
    refuses(() => decodeResponse(type, cbor(value)), 'InvalidResponse');
  });

  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['truncated map', 'a169'],
    ['truncated byte string', 'a16947657452616e646f6da16672616e646f6d58ff01'],
    ['trailing bytes', '674c6f636b50435200'],
    ['a break with no indefinite item', 'ff'],
    ['reserved additional info', '1c'],
    ['an unterminated indefinite map', 'bf6947657452616e646f6d'],
    ['a byte string claiming 4 GiB', '5affffffff00'],
  ];
  test.each(malformed)('malformed CBOR: %s', (_name, h) => {
    for (const type of TYPES) refuses(() => decodeResponse(type, fromHex(h)), 'InvalidResponse');
  });

  test('a response that is not bytes at all', () => {
    refuses(() => decodeResponse('GetRandom', 'a1' as unknown as Uint8Array), 'InvalidResponse');
    refuses(() => decodeResponse('GetRandom', undefined as unknown as Uint8Array), 'InvalidResponse');
  });
});

describe('property: nothing but NsmError ever escapes the decoder', () => {
  const onlyNsmErrors = (type: NsmRequestType, input: Uint8Array) => {
    try {
      decodeResponse(type, input);
    } catch (e) {
      if (!(e instanceof NsmError)) throw new Error(`a ${Object.prototype.toString.call(e)} escaped: ${String(e)}`);
    }
  };
  const type = fc.constantFrom(...TYPES);

  test('random bytes', () => {
    fc.assert(
      fc.property(type, fc.uint8Array({ maxLength: 96 }), (t, input) => onlyNsmErrors(t, input)),
      { numRuns: 3000 },
    );
  });

  test('random CBOR values', () => {
    fc.assert(
      fc.property(type, fc.anything({ withMap: true, withSet: true, withTypedArray: true, withDate: true, withBigInt: true }), (t, value) => {
        let input: Uint8Array;
        try {
          input = cbor(value);
        } catch {
          return; // a value cbor-x itself cannot encode is not an input
        }
        onlyNsmErrors(t, input);
      }),
      { numRuns: 1500 },
    );
  });

  test('random mutations of good answers', () => {
    const good = TYPES.map((t) => [t, cbor(GOOD[t])] as const);
    fc.assert(
      fc.property(
        fc.constantFrom(...good),
        type,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        ([, original], t, edits, cut) => {
          const mutated = new Uint8Array(original);
          for (const [at, value] of edits) mutated[at % mutated.length] = value;
          onlyNsmErrors(t, mutated);
          onlyNsmErrors(t, mutated.subarray(0, cut % (mutated.length + 1)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
