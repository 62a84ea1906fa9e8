/** What the value of a field named like a secret becomes in a log line. */
export const REDACTED_VALUE = '[REDACTED]';

/** What a value nested deeper than {@link MAX_FIELD_DEPTH} becomes: not looked into, so not written either. */
export const TOO_DEEP = '[TOO DEEP]';

/**
 * Field names that say their value is a secret, in any case and any compound (`dbPassword`,
 * `client_secret`, `x-api-key`, `Authorization`, `accessToken`, `set-cookie`, …). `key` alone is
 * not one: the ingress logs public key fingerprints (`sha256:…`) under it, which reveal nothing.
 */
const SECRET_WORDS = /passw(or)?d|passphrase|secret|token|api[-_.\s]?key|authori[sz]ation|cookie|private[-_.\s]?key|credential/i;

/** Field names whose value is data, never metadata: a request body, decrypted bytes. */
const DATA_NAMES = /^(body|plaintext)$/i;

/** Levels of nesting looked into below a log entry's own fields; deep enough for any metadata. */
export const MAX_FIELD_DEPTH = 8;

/** Whether a field of this name has its value replaced by {@link REDACTED_VALUE} in every log line. */
export function isSecretField(name: string): boolean {
  return SECRET_WORDS.test(name) || DATA_NAMES.test(name);
}

/**
 * A copy of a log entry's fields with the value of every field named like a secret replaced, at
 * any depth down to {@link MAX_FIELD_DEPTH}, in objects and arrays (an object's `toJSON` is
 * followed, as JSON does); deeper values are replaced whole, so deep or cyclic input costs a
 * bounded walk. Errors are left to the logger's error serializer.
 */
export function redactSecretFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactObject(fields, 0);
}

function redactObject(object: object, depth: number): Record<string, unknown> {
  // fromEntries defines each field, so one named __proto__ stays a field rather than a prototype.
  return Object.fromEntries(Object.entries(object).map(([name, value]) => [name, isSecretField(name) ? REDACTED_VALUE : redactValue(value, depth + 1)]));
}

function redactValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (depth > MAX_FIELD_DEPTH) return TOO_DEEP;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redactValue(toJSON.call(value), depth + 1);
  if (Array.isArray(value)) return value.map((item: unknown) => redactValue(item, depth + 1));
  return redactObject(value, depth);
}
