import { createHash } from 'node:crypto';

/** The members RFC 7638 hashes for each key type, already in lexicographic order. */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: two JWKs of the same key have the
 * same thumbprint whatever other members (kid, use, alg…) they carry. Throws a TypeError for an
 * unsupported key type or a missing member.
 */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const kty = jwk.kty;
  const members = typeof kty === 'string' ? REQUIRED_MEMBERS[kty] : undefined;
  if (!members) throw new TypeError(`A JWK of type ${JSON.stringify(kty)} has no thumbprint; Cloister keys are EC, RSA or OKP.`);
  const canonical: Record<string, string> = {};
  for (const member of members) {
    const value = jwk[member];
    if (typeof value !== 'string' || value.length === 0) throw new TypeError(`The ${kty} JWK has no "${member}".`);
    canonical[member] = value;
  }
  // JSON.stringify keeps insertion order and writes no whitespace: exactly RFC 7638's form.
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}
