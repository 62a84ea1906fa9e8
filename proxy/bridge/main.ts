/**
 * `node dist/proxy/bridge/main.js --listen ADDRESS --target ADDRESS`: the bridge as a process of
 * its own (on the parent instance, tcp://…:443 to the enclave's vsock ingress), stopped by SIGTERM.
 */
import { jsonLinesLog } from '../log';
import { type Address, formatAddress, parseAddress } from '../transport/address';
import { startBridge } from './index';

const USAGE = 'usage: node dist/proxy/bridge/main.js --listen ADDRESS --target ADDRESS\n' +
  '  e.g. --listen tcp://127.0.0.1:8443 --target unix:///run/cloister/ingress.sock\n' +
  '  addresses: tcp://HOST:PORT, unix:///path, vsock://CID:PORT\n';

/** The `--listen` and `--target` addresses from argv (`--name VALUE` or `--name=VALUE`); throws a usage message otherwise. */
export function parseArgs(argv: readonly string[]): { listen: Address; target: Address } {
  const values: Partial<Record<'--listen' | '--target', Address>> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = splitFlag(argv[i]!);
    if (flag !== '--listen' && flag !== '--target') throw new Error(`unknown argument "${argv[i]}"`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs an address`);
    if (values[flag]) throw new Error(`${flag} is given twice`);
    values[flag] = parseAddress(value);
  }
  const { '--listen': listen, '--target': target } = values;
  if (!listen || !target) throw new Error('both --listen and --target are required');
  return { listen, target };
}

function splitFlag(arg: string): [string, string | undefined] {
  const at = arg.indexOf('=');
  return arg.startsWith('--') && at > 0 ? [arg.slice(0, at), arg.slice(at + 1)] : [arg, undefined];
}

async function main(): Promise<void> {
  let args: { listen: Address; target: Address };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    return fail(`cloister bridge: ${(e as Error).message}\n${USAGE}`);
  }
  let bridge;
  try {
    bridge = await startBridge({ ...args, log: jsonLinesLog });
  } catch (e) {
    return fail(`cloister bridge: cannot listen on ${formatAddress(args.listen)}: ${(e as Error).message}\n`);
  }
  jsonLinesLog({ level: 'info', event: 'bridge_listening', listen: formatAddress(bridge.address), target: formatAddress(args.target) });
  const stop = () => void bridge.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Usage and I/O errors exit 2, as every Cloister command does; nothing else keeps the process alive by then. */
function fail(message: string): void {
  process.stderr.write(message);
  process.exitCode = 2;
}

if (require.main === module) void main();
