import { type LogEntry, type LogValue, isLogLevel } from '../../contract/log';
import { MAX_FIELD_DEPTH, TOO_DEEP } from '../../contract/secret-fields';
import type { SecretRedactor } from './secret-redactor';

/**
 * One line of the app's own log (what its `context.log` wrote) as the supervisor logs it:
 * `{level, event: 'app.log', entry}`, at the level the app gave, with the app's event and fields
 * nested under `entry` (its time is the line's), so that nothing the app writes can stand for a
 * field of the supervisor's line. Every string in the entry, field names included, has the app's
 * secrets taken out: a value the app's JSON escaped in some unusual way is found once parsed.
 * Undefined when the line is not a JSON object with a level: it is then logged as a plain line.
 */
export function appLogEntry(text: string, secrets: SecretRedactor): LogEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { level, time: _time, ...fields } = parsed as Record<string, unknown>;
  if (!isLogLevel(level)) return undefined;
  return { level, event: 'app.log', entry: redactStrings(fields, secrets, 1) };
}

/** `value` (parsed JSON) with the secrets taken out of its strings, down to the depth a log line is looked into. */
function redactStrings(value: unknown, secrets: SecretRedactor, depth: number): LogValue {
  if (typeof value === 'string') return secrets.redact(value);
  if (value === null || typeof value !== 'object') return value as LogValue;
  if (depth > MAX_FIELD_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, secrets, depth + 1));
  // fromEntries defines each field, so one named __proto__ stays a field rather than a prototype.
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [secrets.redact(name), redactStrings(item, secrets, depth + 1)]));
}
