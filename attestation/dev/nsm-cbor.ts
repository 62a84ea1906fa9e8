import { Encoder } from 'cbor-x';

/**
 * CBOR as the NSM writes it: byte strings stay plain byte strings (cbor-x would otherwise tag
 * Uint8Arrays with 64) and nothing becomes a cbor-x record. Encoded values are views into a
 * shared scratch buffer: copy one that outlives the next encoding.
 */
export const nsmCbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
