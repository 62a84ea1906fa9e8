/**
 * The `--name VALUE` / `--name=VALUE` flags of the parent-side programs (bridge, egress relay,
 * config push), each at most once and none unknown; throws a sentence naming the flag otherwise.
 * Flags in `required` must be present.
 */
export function readFlags<Flag extends string, Required extends Flag>(
  argv: readonly string[],
  known: readonly Flag[],
  required: readonly Required[],
): Partial<Record<Flag, string>> & Record<Required, string> {
  const values: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const at = arg.indexOf('=');
    const [name, inline] = arg.startsWith('--') && at > 0 ? [arg.slice(0, at), arg.slice(at + 1)] : [arg, undefined];
    if (!(known as readonly string[]).includes(name)) throw new Error(`unknown argument "${arg}"`);
    const flag = name as Flag;
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
    if (values[flag] !== undefined) throw new Error(`${flag} is given twice`);
    values[flag] = value;
  }
  const missing = required.filter((flag) => values[flag] === undefined);
  if (missing.length > 0) {
    const all = required.length === 2 ? `both ${required.join(' and ')} are` : `${required.join(', ')} ${required.length > 1 ? 'are' : 'is'}`;
    throw new Error(`${all} required (missing: ${missing.join(', ')})`);
  }
  return values as Partial<Record<Flag, string>> & Record<Required, string>;
}

/** A flag's value as a positive integer no larger than `max`, or a sentence saying what was expected. */
function positiveInteger(flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be a whole number from 1 to ${max}; got "${value}"`);
  return n;
}

/** The flags that bound a relaying process's work, as the bridge and the egress relay both take them. */
export const BOUND_FLAGS = ['--max-connections', '--idle-timeout-ms'] as const;

/** How many connections at once, and how long one may idle: the values of `BOUND_FLAGS`, when given. */
export interface ConnectionBounds {
  maxConnections?: number;
  idleTimeoutMs?: number;
}

/** Reads `BOUND_FLAGS` from flags read with `readFlags`; throws a sentence for a value out of range. */
export function connectionBounds(flags: Partial<Record<(typeof BOUND_FLAGS)[number], string>>): ConnectionBounds {
  const maxConnections = positiveInteger('--max-connections', flags['--max-connections'], 1_000_000);
  const idleTimeoutMs = positiveInteger('--idle-timeout-ms', flags['--idle-timeout-ms'], 86_400_000);
  return { ...(maxConnections !== undefined && { maxConnections }), ...(idleTimeoutMs !== undefined && { idleTimeoutMs }) };
}
