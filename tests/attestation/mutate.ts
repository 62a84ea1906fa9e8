import { Decoder, Encoder, Tag } from 'cbor-x';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false } as ConstructorParameters<typeof Encoder>[0]);

export type Sign1Parts = [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array];

/** The four parts of a COSE_Sign1 document, to change one and encode again. */
export const sign1Parts = (bytes: Uint8Array) => decoder.decode(bytes) as Sign1Parts;

export const encodeSign1 = (parts: unknown[], tag?: number): Buffer => Buffer.from(encoder.encode(tag === undefined ? parts : new Tag(parts, tag)));

export const payloadOf = (bytes: Uint8Array) => decoder.decode(sign1Parts(bytes)[2]) as Map<string, unknown>;

/** The document with its payload map changed by `change` (its signature no longer matches). */
export function withPayload(bytes: Uint8Array, change: (payload: Map<string, unknown>) => void): Buffer {
  const parts = sign1Parts(bytes);
  const payload = payloadOf(bytes);
  change(payload);
  parts[2] = encoder.encode(payload);
  return encodeSign1(parts);
}

export const flipByte = (bytes: Uint8Array, index: number) => {
  const copy = Buffer.from(bytes);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
};
