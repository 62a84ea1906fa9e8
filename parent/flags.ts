/**
 * The flags of the parent-side programs (bridge, egress relay, config push, log sink), read with commander
 * as the `cloister` CLI and the enclave supervisor read theirs: `--name VALUE` or `--name=VALUE`.
 * Each program prints a refusal after its name and above its usage, and exits 2.
 */
import { Command, CommanderError, Option } from 'commander';
import { type Address, parseAddress } from '../transport/address';

/**
 * A flag that takes one value, read by `parse` (which throws a sentence for a value it refuses).
 * Commander would keep the last of a repeated flag; two values for one setting are a mistake, so
 * the second is refused instead.
 */
function flag<T>(name: string, placeholder: string, parse: (value: string) => T): Option {
  return new Option(`${name} <${placeholder}>`).argParser((value: string, previous: T | undefined) => {
    if (previous !== undefined) throw new Error(`${name} is given twice`);
    // `--name=` gets here with nothing, where `--name` alone is commander's own refusal; same words.
    if (value === '') throw new Error(`option '${name} <${placeholder}>' argument missing`);
    return parse(value);
  });
}

/** A whole number from 1 to `max`, as the bounds of a relaying process are given. */
function wholeNumber(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new Error(`${name} must be a whole number from 1 to ${max}; got "${value}"`);
    return n;
  };
}

/** Where the program listens. */
export const LISTEN = flag<Address>('--listen', 'address', parseAddress);
/** Where the program connects. */
export const TARGET = flag<Address>('--target', 'address', parseAddress);
/** The runtime configuration file. */
export const CONFIG = flag<string>('--config', 'file', (value) => value);

/** Most connections served at once. */
export const MAX_CONNECTIONS = flag('--max-connections', 'n', wholeNumber('--max-connections', 1_000_000));
/** Longest line the log sink passes on, in bytes. */
export const MAX_LINE_BYTES = flag('--max-line-bytes', 'n', wholeNumber('--max-line-bytes', 16 * 1024 * 1024));

/** The flags that bound a relaying process's work, as the bridge and the egress relay both take them. */
export const BOUND_FLAGS = [MAX_CONNECTIONS, flag('--idle-timeout-ms', 'ms', wholeNumber('--idle-timeout-ms', 86_400_000))] as const;

/** How many connections at once, and how long one may idle: the values of `BOUND_FLAGS`, when given. */
export interface ConnectionBounds {
  maxConnections?: number;
  idleTimeoutMs?: number;
}

/**
 * Reads `argv` against `flags`, of which all of `required` must be given, and returns commander's
 * option values (`--max-connections` as `maxConnections`), each as its flag read it: `Values` names
 * that shape. Throws an Error whose message is one sentence naming the flag or argument refused.
 */
export function readFlags<Values>(argv: readonly string[], flags: readonly Option[], required: readonly Option[]): Values {
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false);
  for (const option of flags) program.addOption(option);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // Commander counts stray words without showing one; the first is the likeliest mistake.
    if (e.code === 'commander.excessArguments') throw new Error(`unexpected argument "${program.args[0]}": every value follows its flag`);
    throw new Error(e.message.replace(/^error: /, ''));
  }
  const values = program.opts();
  const missing = required.filter((option) => values[option.attributeName()] === undefined).map((option) => option.long);
  if (missing.length > 0) {
    const names = required.map((option) => option.long);
    const all = names.length === 2 ? `both ${names.join(' and ')} are` : `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'}`;
    throw new Error(`${all} required (missing: ${missing.join(', ')})`);
  }
  return values as Values;
}
