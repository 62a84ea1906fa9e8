/*
 * The identity contract of DESIGN.md: the two headers through which the ingress tells the app who
 * is calling, and what their values may look like. The ingress sets them, the SDK reads them, the
 * configuration and the client check names against the same grammar.
 */

/** Header the ingress sets to the authenticated caller's name (and strips from clients). */
export const USER_NAME_HEADER = 'X-OBLV-User-Name';
/** Header the ingress sets to the authenticated caller's role (and strips from clients). */
export const USER_ROLE_HEADER = 'X-OBLV-User-Role';

/** Longest accepted name or role, in characters. */
export const MAX_IDENTITY_CHARS = 128;

/** Printable ASCII, no leading or trailing space: what a name or role may look like, so it can travel in a header. */
export const IDENTITY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Whether `value` is a name or role the contract admits: 1 to 128 printable ASCII characters without surrounding spaces. */
export const isValidIdentityValue = (value: string): boolean => value.length <= MAX_IDENTITY_CHARS && IDENTITY_PATTERN.test(value);

/** Who is calling, as established by the ingress from the caller's client certificate. */
export interface Identity {
  name: string;
  role: string;
}
