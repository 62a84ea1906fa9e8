import { AttestationError } from './errors';
import type { AttestationPayload } from './payload';

/**
 * What a verifier requires of a document beyond a valid signature and chain. Every field is
 * optional; an empty policy accepts any authentic production document.
 */
export interface AttestationPolicy {
  /**
   * Accepted values per PCR index, as hex: one value, or several during a rolling upgrade.
   * Each listed index must be present in the document with one of its values.
   */
  pcrs?: Record<number | string, string | readonly string[]>;
  /** Accept debug-mode documents (PCR0 all zero: the host can read the enclave's memory). Default false. */
  allowDebug?: boolean;
  /** The nonce the verifier sent; the document must carry exactly it. */
  nonce?: Uint8Array;
  /** Refuse documents older than this, measured at the verification instant. */
  maxAgeMs?: number;
  /** Clock difference tolerated between the NSM and the verifier, both ways (default 60 s). */
  clockSkewMs?: number;
  /** The `public_key` the document must carry, e.g. the SPKI DER of the TLS key just presented. */
  publicKey?: Uint8Array;
  /**
   * Checks `user_data` (e.g. the ingress binding of DESIGN.md, a CBOR map). Return false or throw
   * to refuse; a thrown AttestationError keeps its code, anything else becomes USER_DATA_MISMATCH.
   */
  userData?: (userData: Uint8Array | null) => boolean | void;
}

const DEFAULT_SKEW_MS = 60_000;
const ZERO_PCR = '0'.repeat(96);
const HEX_PCR = /^[0-9a-f]{96}$/;

/** Applies `policy` to an authentic payload at instant `at`. Throws the first refusal. */
export function checkPolicy(payload: AttestationPayload, policy: AttestationPolicy, at: Date): void {
  const pcrs = normalizePcrs(policy.pcrs);
  const skew = policy.clockSkewMs ?? DEFAULT_SKEW_MS;
  if (!Number.isFinite(skew) || skew < 0) throw badPolicy('clockSkewMs must be a non-negative number of milliseconds');

  if (!policy.allowDebug && payload.pcrs.get(0) === ZERO_PCR) {
    throw new AttestationError(
      'DEBUG_MODE',
      'The enclave runs in debug mode (PCR0 is all zero): its host can read its memory. Run it without --debug-mode, or allow debug documents explicitly for development.',
    );
  }
  for (const [index, accepted] of pcrs) {
    const actual = payload.pcrs.get(index);
    if (actual === undefined || !accepted.includes(actual)) {
      throw new AttestationError(
        'PCR_MISMATCH',
        `PCR${index} is ${actual ?? 'absent'}, not ${accepted.length > 1 ? `one of ${accepted.join(', ')}` : accepted[0]}: this is not the code (or configuration) you expect.`,
      );
    }
  }
  if (policy.nonce !== undefined && !equalBytes(payload.nonce, policy.nonce)) {
    throw new AttestationError('NONCE_MISMATCH', 'The document does not carry the nonce you sent: it was made for another request, or replayed.');
  }
  if (policy.maxAgeMs !== undefined) {
    if (!Number.isFinite(policy.maxAgeMs) || policy.maxAgeMs < 0) throw badPolicy('maxAgeMs must be a non-negative number of milliseconds');
    const age = at.getTime() - payload.timestamp;
    if (age < -skew) {
      throw new AttestationError('STALE', `The document is dated ${-age} ms in the future, beyond the ${skew} ms clock skew allowed; check the clocks.`);
    }
    if (age > policy.maxAgeMs + skew) {
      throw new AttestationError('STALE', `The document is ${age} ms old, older than the ${policy.maxAgeMs} ms allowed; ask for a fresh one.`);
    }
  }
  if (policy.publicKey !== undefined && !equalBytes(payload.publicKey, policy.publicKey)) {
    throw new AttestationError(
      'PUBLIC_KEY_MISMATCH',
      "The document's public_key is not the expected key: the key you are talking to was not born in this enclave.",
    );
  }
  if (policy.userData !== undefined) checkUserData(policy.userData, payload.userData);
}

function checkUserData(check: NonNullable<AttestationPolicy['userData']>, userData: Uint8Array | null): void {
  let accepted: boolean | void;
  try {
    accepted = check(userData);
  } catch (e) {
    if (e instanceof AttestationError) throw e;
    throw new AttestationError('USER_DATA_MISMATCH', `The document's user_data was refused: ${(e as Error)?.message ?? String(e)}.`, { cause: e });
  }
  if (accepted === false) throw new AttestationError('USER_DATA_MISMATCH', "The document's user_data is not what this client expects.");
}

/** The policy's PCRs as index → accepted lower-case hex values; malformed entries are BAD_POLICY. */
export function normalizePcrs(pcrs: AttestationPolicy['pcrs']): Map<number, string[]> {
  const result = new Map<number, string[]>();
  for (const [key, value] of Object.entries(pcrs ?? {})) {
    const index = Number(key);
    if (!/^\d+$/.test(key) || index > 31) throw badPolicy(`"${key}" is not a PCR index from 0 to 31`);
    const values = (typeof value === 'string' ? [value] : [...value]).map((v) => String(v).toLowerCase());
    if (values.length === 0) throw badPolicy(`PCR${index} lists no accepted value`);
    for (const v of values) if (!HEX_PCR.test(v)) throw badPolicy(`PCR${index} value "${v.slice(0, 20)}…" is not 96 hex digits`);
    result.set(index, values);
  }
  return result;
}

const equalBytes = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.from(a).equals(Buffer.from(b));

const badPolicy = (what: string) => new AttestationError('BAD_POLICY', `The verification policy is invalid: ${what}.`);
