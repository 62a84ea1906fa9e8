import { type KeyObject, createHash, verify } from 'node:crypto';
import { findAddon, loadAddon } from '../contract/find-addon';

/** Checks an ECDSA P-384 signature (IEEE P1363 r‖s, 96 bytes) over `data` hashed with SHA-384. */
export type P384Verifier = (data: Uint8Array, key: KeyObject, signature: Uint8Array) => boolean;

/** What p384.c exports: every argument 48 big-endian bytes. */
interface P384Addon {
  verify(x: Buffer, y: Buffer, digest: Buffer, r: Buffer, s: Buffer): boolean;
}

const FIELD_BYTES = 48;

/** OpenSSL's answer, through node:crypto: always available. */
export const nodeVerifyP384: P384Verifier = (data, key, signature) => verify('sha384', data, { key, dsaEncoding: 'ieee-p1363' }, signature);

function loadNettle(): P384Addon | undefined {
  const file = findAddon('cloister_p384.node');
  if (!file) return undefined;
  try {
    const addon = loadAddon(file) as P384Addon | undefined;
    return typeof addon?.verify === 'function' ? addon : undefined;
  } catch {
    // A built addon that does not load (its libraries gone): node:crypto gives the same answers.
    return undefined;
  }
}

/** A key's affine coordinates, read once per KeyObject (a chain keeps its leaf's). */
const coordinates = new WeakMap<KeyObject, { x: Buffer; y: Buffer }>();

function coordinatesOf(key: KeyObject): { x: Buffer; y: Buffer } {
  let point = coordinates.get(key);
  if (!point) {
    const jwk = key.export({ format: 'jwk' });
    point = { x: Buffer.from(jwk.x ?? '', 'base64url'), y: Buffer.from(jwk.y ?? '', 'base64url') };
    coordinates.set(key, point);
  }
  return point;
}

function nettleVerifier(addon: P384Addon): P384Verifier {
  return (data, key, signature) => {
    const { x, y } = coordinatesOf(key);
    if (x.length !== FIELD_BYTES || y.length !== FIELD_BYTES || signature.length !== 2 * FIELD_BYTES) return false;
    const halves = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
    const digest = createHash('sha384').update(data).digest();
    return addon.verify(x, y, digest, halves.subarray(0, FIELD_BYTES), halves.subarray(FIELD_BYTES));
  };
}

const nettle = loadNettle();

/**
 * Nettle's answer, through the cloister_p384 addon, when it was built (npm's install step builds
 * it where nettle-dev and libgmp-dev are installed). OpenSSL 3.0, which Node 20 carries, has no
 * fast P-384 code: Nettle checks a signature in a little over half the time, which is most of a
 * warm attestation verification.
 */
export const nettleVerifyP384: P384Verifier | undefined = nettle && nettleVerifier(nettle);

/** The verifier every attestation check uses: Nettle's when built, else node:crypto's. */
export const verifyP384: P384Verifier = nettleVerifyP384 ?? nodeVerifyP384;

/** Which code checks P-384 signatures in this process, for reports and benchmarks. */
export const P384_BACKEND: 'nettle' | 'node:crypto' = nettleVerifyP384 ? 'nettle' : 'node:crypto';
