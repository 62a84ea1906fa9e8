import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

const PCR_BYTES = 48;

/**
 * The configuration digest of DESIGN.md: SHA-384 over the RFC 8785 canonical JSON of the
 * configuration, so the same configuration written as YAML, or as JSON in another key order,
 * has the same digest.
 */
export function configDigest(document: unknown): Buffer {
  const canonical = canonicalize(document);
  if (canonical === undefined) throw new TypeError('The configuration has no JSON form.');
  return createHash('sha384').update(canonical, 'utf8').digest();
}

/**
 * The value PCR16 holds after the supervisor extends it, from zero, with the digest:
 * SHA-384(48 zero bytes ‖ digest). Clients and KMS key policies compare against this.
 */
export function pcr16For(digest: Uint8Array): Buffer {
  return createHash('sha384').update(Buffer.alloc(PCR_BYTES)).update(digest).digest();
}
