/**
 * `node dist/parent/egress-relay/main.js --listen ADDRESS --config FILE [--max-connections N]
 * [--idle-timeout-ms MS]`: the egress relay as a process of its own on the parent instance
 * (listening on vsock port 5001), checking every tunnel against the `outbound` list of the same
 * runtime configuration the enclave measured. Stopped by SIGTERM or SIGINT. Usage and
 * configuration errors exit 2.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { jsonLinesLogger } from '../../contract/log';
import { BOUND_FLAGS, CONFIG, type ConnectionBounds, LISTEN, readFlags } from '../flags';
import { type Address, formatAddress } from '../../transport/address';
import { EgressAllowlist, type EgressTarget } from '../../contract/allowlist';
import { startRelay } from './relay';
import { failWithUsage, stopOnSignal } from '../process-life';

const USAGE =
  'usage: node dist/parent/egress-relay/main.js --listen ADDRESS --config FILE [--max-connections N] [--idle-timeout-ms MS]\n' +
  '  e.g. --listen vsock://4294967295:5001 --config /etc/cloister/cloister.config.json\n' +
  '  addresses: tcp://HOST:PORT, unix:///path, vsock://CID:PORT (where supported)\n' +
  '  --max-connections: tunnels at once (default 256); --idle-timeout-ms: close a tunnel idle this long (default 300000)\n';

/** What the relay process is asked to do, from its flags. */
export interface RelayArgs extends ConnectionBounds {
  listen: Address;
  config: string;
}

/** The relay's flags from argv (`--name VALUE` or `--name=VALUE`); throws a usage message otherwise. */
export function parseRelayArgs(argv: readonly string[]): RelayArgs {
  return readFlags<RelayArgs>(argv, [LISTEN, CONFIG, ...BOUND_FLAGS], [LISTEN, CONFIG]);
}

/**
 * The `outbound` entries of a runtime configuration file (JSON, or YAML by extension). Only that
 * list is read; each entry must be `{host, port}` with a host that parses. Throws with the reason.
 */
export function readOutbound(file: string): EgressTarget[] {
  const text = readFileSync(file, 'utf8');
  const document: unknown = ['.yaml', '.yml'].includes(extname(file).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new Error('the configuration is not an object');
  const outbound = (document as { outbound?: unknown }).outbound ?? [];
  if (!Array.isArray(outbound)) throw new Error('"outbound" is not a list');
  const entries = outbound.map((entry: unknown, i) => {
    const { host, port } = (entry ?? {}) as Record<string, unknown>;
    if (typeof host !== 'string' || typeof port !== 'number') throw new Error(`outbound[${i}] is not {host, port}`);
    return { host, port };
  });
  new EgressAllowlist(entries); // throws on a host or port that does not parse
  return entries;
}

async function main(): Promise<void> {
  let args: RelayArgs;
  let outbound: EgressTarget[];
  try {
    args = parseRelayArgs(process.argv.slice(2));
  } catch (e) {
    return failWithUsage(`cloister egress relay: ${(e as Error).message}\n${USAGE}`);
  }
  try {
    outbound = readOutbound(args.config);
  } catch (e) {
    return failWithUsage(`cloister egress relay: ${args.config}: ${(e as Error).message}\n`);
  }
  let relay;
  try {
    relay = await startRelay({ listen: args.listen, outbound, log: jsonLinesLogger, maxConnections: args.maxConnections, idleTimeoutMs: args.idleTimeoutMs });
  } catch (e) {
    return failWithUsage(`cloister egress relay: cannot listen on ${formatAddress(args.listen)}: ${(e as Error).message}\n`);
  }
  jsonLinesLogger({ level: 'info', event: 'egress_relay_listening', listen: formatAddress(relay.address), allowed: outbound.length });
  stopOnSignal(() => relay.close());
}

if (require.main === module) void main();
