import { Encoder } from 'cbor-x';
import { decodeCbor } from './cbor';
import { AttestationError } from './errors';

const CONFIG_DIGEST_BYTES = 48;
const INSTANCE_ID_BYTES = 16;
const THUMBPRINT_BYTES = 32;
// variableMapSize: minimal map headers (a3), not cbor-x's default fixed 16-bit ones (b9 0003).
const encoder = new Encoder({ useRecords: false, variableMapSize: true } as ConstructorParameters<typeof Encoder>[0]);

/** What the ingress binds into every attestation document's `user_data` (DESIGN.md). */
export interface IngressBinding {
  /** SHA-384 of the runtime configuration (48 bytes). */
  config: Uint8Array;
  /** 16 random bytes drawn when the enclave booted: a new one means a restart. */
  instance: Uint8Array;
  /** The RFC 7638 SHA-256 thumbprint of the instance's results key, which signs its results (32 bytes). */
  results: Uint8Array;
}

/** `user_data` = CBOR map {"v": 1, "config": <48 bytes>, "instance": <16 bytes>, "results": <32 bytes>}. */
export function encodeIngressBinding(binding: IngressBinding): Uint8Array {
  if (binding.config.length !== CONFIG_DIGEST_BYTES || binding.instance.length !== INSTANCE_ID_BYTES || binding.results.length !== THUMBPRINT_BYTES) {
    throw new TypeError(
      `The binding needs a ${CONFIG_DIGEST_BYTES}-byte config digest, a ${INSTANCE_ID_BYTES}-byte instance id and a ${THUMBPRINT_BYTES}-byte key thumbprint.`,
    );
  }
  return encoder.encode({ v: 1, config: Buffer.from(binding.config), instance: Buffer.from(binding.instance), results: Buffer.from(binding.results) });
}

/** Reads the binding from `user_data`; anything else is USER_DATA_MISMATCH. */
export function decodeIngressBinding(userData: Uint8Array | null): IngressBinding {
  if (userData === null) throw mismatch('the document carries no user_data, so it binds no configuration');
  let map: unknown;
  try {
    map = decodeCbor(userData, 'user_data');
  } catch {
    throw mismatch('user_data is not CBOR');
  }
  if (!(map instanceof Map) || map.size !== 4 || map.get('v') !== 1) throw mismatch('user_data is not a version 1 Cloister binding');
  const config = map.get('config');
  const instance = map.get('instance');
  if (!(config instanceof Uint8Array) || config.length !== CONFIG_DIGEST_BYTES) throw mismatch('the config digest is not 48 bytes');
  const results = map.get('results');
  if (!(instance instanceof Uint8Array) || instance.length !== INSTANCE_ID_BYTES) throw mismatch('the instance id is not 16 bytes');
  if (!(results instanceof Uint8Array) || results.length !== THUMBPRINT_BYTES) throw mismatch('the results key thumbprint is not 32 bytes');
  return { config, instance, results };
}

/**
 * A `user_data` policy hook: the document must bind this configuration digest. Use it as
 * `policy.userData = requireConfigDigest(expected)`.
 */
export function requireConfigDigest(expected: Uint8Array): (userData: Uint8Array | null) => true {
  return (userData) => {
    const { config } = decodeIngressBinding(userData);
    if (!Buffer.from(config).equals(Buffer.from(expected))) {
      throw mismatch(`the enclave runs configuration ${Buffer.from(config).toString('hex')}, not the expected ${Buffer.from(expected).toString('hex')}`);
    }
    return true;
  };
}

const mismatch = (what: string) => new AttestationError('USER_DATA_MISMATCH', `The document's user_data does not bind the expected deployment: ${what}.`);
