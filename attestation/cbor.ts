import { Decoder, Tag } from 'cbor-x';
import { AttestationError } from './errors';

/**
 * Maps stay `Map`s (PCR keys are integers, and key order is observable), records and other
 * cbor-x extensions stay off, and 64-bit integers become numbers (timestamps are ms since 1970).
 */
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);

/**
 * Decodes exactly one CBOR item filling `bytes` (trailing bytes are refused). Any failure of the
 * decoder, whatever it throws, becomes `BAD_CBOR` naming `what`.
 */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw new AttestationError('BAD_CBOR', `The ${what} is not well-formed CBOR (${(e as Error)?.message ?? 'unreadable'}).`, { cause: e });
  }
}

export { Tag };
