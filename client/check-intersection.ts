import { type Hash, createHash } from 'node:crypto';
import { ResultError } from './errors';
import type { VerifiedResult } from './verify-result';

/**
 * A PSI answer is `{"intersection":[...],"jws":"..."}`: the list is served beside the signed
 * result, not inside it, and the signed result is `{size, intersectionSha256}`. So a verified JWS
 * says nothing about the list next to it until the list is hashed as the enclave hashed it.
 */

const SLICE_CHARS = 1 << 16;

/**
 * The SHA-256 of `{"intersection":[...]}` exactly as `JSON.stringify` writes it (what a PSI result
 * signs as `intersectionSha256`), fed one item at a time: a list read as it streams in need never
 * be held whole. An item that is not a string marks the list as no PSI intersection.
 *
 * @example
 * const hash = new IntersectionHash();
 * for (const item of ['fig', 'pear']) hash.add(item);
 * hash.hex(); // the same as sha256(JSON.stringify({ intersection: ['fig', 'pear'] }))
 */
export class IntersectionHash {
  private readonly hash: Hash = createHash('sha256');
  /** JSON not hashed yet: the hash is fed in slices, not once per item, which costs as much as the rest. */
  private pending = '{"intersection":[';
  private digest: string | undefined;
  private count = 0;
  private strings = true;

  /** Adds the next item of the list. */
  add(item: unknown): void {
    if (this.digest !== undefined) throw new Error('This intersection was already hashed whole.');
    // Only strings are written out: anything else already fails the check, and could be any size or depth.
    if (typeof item !== 'string') this.strings = false;
    else {
      this.pending += `${this.count === 0 ? '' : ','}${JSON.stringify(item)}`;
      if (this.pending.length >= SLICE_CHARS) {
        this.hash.update(this.pending);
        this.pending = '';
      }
    }
    this.count++;
  }

  /** How many items were added. */
  get items(): number {
    return this.count;
  }

  /** Whether every item added is a string, as in every intersection an enclave serves. */
  get allStrings(): boolean {
    return this.strings;
  }

  /** The SHA-256 (lower-case hex) of the list added; no item may be added after. */
  hex(): string {
    this.digest ??= this.hash.update(`${this.pending}]}`).digest('hex');
    return this.digest;
  }
}

/**
 * Checks that `intersection`, the list served beside a PSI result, is the list the enclave signed:
 * `verified` (from `verifyResult`) must sign an `intersectionSha256`, and it must be the SHA-256 of
 * `{"intersection": intersection}` as `JSON.stringify` writes it. Pass the list as parsed, or an
 * `IntersectionHash` fed with it while it streamed in. Throws `ResultError('INTERSECTION_MISMATCH')`
 * otherwise: the list was changed, or is no list the result vouches for.
 *
 * @example
 * const body = await response.json(); // {"intersection": ["fig", "pear"], "jws": "eyJ..."}
 * const verified = await verifyResult(body.jws, loadPolicy('policy.json'));
 * checkIntersection(verified, body.intersection); // throws if a single item was changed
 */
export function checkIntersection(verified: Pick<VerifiedResult, 'payload'>, intersection: unknown): void {
  const result = verified.payload.result as { intersectionSha256?: unknown } | null;
  const signed = typeof result === 'object' && result !== null ? result.intersectionSha256 : undefined;
  if (typeof signed !== 'string') {
    throw mismatch('This signed result holds no intersectionSha256, so it vouches for no list: the list beside it is not one the enclave signed.');
  }
  let hash: IntersectionHash;
  if (intersection instanceof IntersectionHash) hash = intersection;
  else if (Array.isArray(intersection)) {
    hash = new IntersectionHash();
    for (const item of intersection) hash.add(item);
  } else throw mismatch('The intersection beside the signed result is not a list, so it is not the one the enclave signed.');
  if (!hash.allStrings) throw mismatch('The intersection beside the signed result has items that are not strings, so it is not the one the enclave signed.');
  if (hash.hex() !== signed) {
    throw mismatch(
      'The intersection list beside the signed result is not the one the enclave signed: its SHA-256 is not the signed intersectionSha256, so it was changed.',
    );
  }
}

const mismatch = (message: string) => new ResultError('INTERSECTION_MISMATCH', message);
