/**
 * `node dist/parent/bridge/main.js --listen ADDRESS --target ADDRESS [--max-connections N]
 * [--idle-timeout-ms MS]`: the bridge as a process of its own (on the parent instance, tcp://…:443
 * to the enclave's vsock ingress), stopped by SIGTERM.
 */
import { jsonLinesLogger } from '../../contract/log';
import { BOUND_FLAGS, type ConnectionBounds, LISTEN, TARGET, readFlags } from '../flags';
import { type Address, formatAddress } from '../../transport/address';
import { startBridge } from './index';
import { failWithUsage, stopOnSignal } from '../process-life';

const USAGE =
  'usage: node dist/parent/bridge/main.js --listen ADDRESS --target ADDRESS [--max-connections N] [--idle-timeout-ms MS]\n' +
  '  e.g. --listen tcp://127.0.0.1:8443 --target unix:///run/cloister/ingress.sock\n' +
  '  addresses: tcp://HOST:PORT, unix:///path, vsock://CID:PORT\n' +
  '  --max-connections: relayed connections at once (default 1024); --idle-timeout-ms: close a connection idle this long (default 600000)\n';

/** What the bridge process is asked to do, from its flags. */
export interface BridgeArgs extends ConnectionBounds {
  listen: Address;
  target: Address;
}

/** The bridge's flags from argv (`--name VALUE` or `--name=VALUE`); throws a usage message otherwise. */
export function parseArgs(argv: readonly string[]): BridgeArgs {
  return readFlags<BridgeArgs>(argv, [LISTEN, TARGET, ...BOUND_FLAGS], [LISTEN, TARGET]);
}

async function main(): Promise<void> {
  let args: BridgeArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    return failWithUsage(`cloister bridge: ${(e as Error).message}\n${USAGE}`);
  }
  let bridge;
  try {
    bridge = await startBridge({ ...args, log: jsonLinesLogger });
  } catch (e) {
    return failWithUsage(`cloister bridge: cannot listen on ${formatAddress(args.listen)}: ${(e as Error).message}\n`);
  }
  jsonLinesLogger({ level: 'info', event: 'bridge_listening', listen: formatAddress(bridge.address), target: formatAddress(args.target) });
  stopOnSignal(() => bridge.close());
}

if (require.main === module) void main();
