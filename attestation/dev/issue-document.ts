import { sign } from 'node:crypto';
import type { DocumentSigner } from './enclave-signer';
import { nsmCbor as encoder } from './nsm-cbor';

/** `{1: -35}` (alg: ES384), byte for byte the protected header of every real document. */
export const PROTECTED_HEADER: Buffer = Buffer.from('a1013822', 'hex');

/** The enclave-specific content of an attestation document. */
export interface DocumentFields {
  moduleId: string;
  /** Milliseconds since 1970. */
  timestamp: number;
  /** The PCRs to report, written in the map's iteration order (ascending index, like the NSM). */
  pcrs: ReadonlyMap<number, Uint8Array>;
  publicKey?: Uint8Array;
  userData?: Uint8Array;
  nonce?: Uint8Array;
}

/**
 * Encodes and signs an attestation document as the NSM does: an untagged COSE_Sign1
 * `[protected, {}, payload, signature]` whose payload map has the nine keys in the NSM's order
 * with null for absent fields, signed ES384 (raw r‖s) over the Sig_structure
 * `["Signature1", protected, h'', payload]`. The payload map is definite-length unless
 * `indefiniteLengthMap` is set, as newer NSMs write it (`bf … ff`).
 */
export function issueDocument(fields: DocumentFields, signer: DocumentSigner, indefiniteLengthMap: boolean): Buffer {
  const payload = encodePayload(fields, signer, indefiniteLengthMap);
  const sigStructure = encoder.encode(['Signature1', PROTECTED_HEADER, Buffer.alloc(0), payload]);
  const signature = sign('sha384', sigStructure, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return Buffer.from(encoder.encode([PROTECTED_HEADER, new Map(), payload, signature]));
}

function encodePayload(fields: DocumentFields, signer: DocumentSigner, indefiniteLengthMap: boolean): Buffer {
  const entries: Array<[string, unknown]> = [
    ['module_id', fields.moduleId],
    ['digest', 'SHA384'],
    // A bigint makes cbor-x write a uint64 (0x1b) like the NSM, where a number would become a float.
    ['timestamp', BigInt(fields.timestamp)],
    ['pcrs', new Map(fields.pcrs)],
    ['certificate', signer.certificate],
    ['cabundle', [...signer.cabundle]],
    ['public_key', fields.publicKey ?? null],
    ['user_data', fields.userData ?? null],
    ['nonce', fields.nonce ?? null],
  ];
  const body = entries.flatMap(([key, value]) => [encoder.encode(key), encoder.encode(value)]);
  return indefiniteLengthMap ? Buffer.concat([Buffer.of(0xbf), ...body, Buffer.of(0xff)]) : Buffer.concat([Buffer.of(0xa0 + entries.length), ...body]);
}
