/**
 * `node dist/proxy/config-push/main.js --target ADDRESS --config FILE`: the parent's config push
 * (to the enclave's vsock port 5002), as a process of its own; it pushes at boot and again every
 * time the enclave restarts, until SIGTERM.
 */
import { existsSync } from 'node:fs';
import { jsonLinesLog } from '../log';
import { type Address, parseAddress } from '../transport/address';
import { startConfigPush } from './index';

const USAGE =
  'usage: node dist/proxy/config-push/main.js --target ADDRESS --config FILE\n' +
  '  e.g. --target vsock://16:5002 --config cloister.config.json\n';

export function parseArgs(argv: readonly string[]): { target: Address; config: string } {
  const values: { target?: Address; config?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const at = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && at > 0 ? [arg.slice(0, at), arg.slice(at + 1)] : [arg, undefined];
    if (flag !== '--target' && flag !== '--config') throw new Error(`unknown argument "${arg}"`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
    if (flag === '--target') {
      if (values.target) throw new Error('--target is given twice');
      values.target = parseAddress(value);
    } else {
      if (values.config) throw new Error('--config is given twice');
      values.config = value;
    }
  }
  if (!values.target || !values.config) throw new Error('both --target and --config are required');
  return { target: values.target, config: values.config };
}

function main(): void {
  let args: { target: Address; config: string };
  try {
    args = parseArgs(process.argv.slice(2));
    if (!existsSync(args.config)) throw new Error(`${args.config} does not exist`);
  } catch (e) {
    process.stderr.write(`cloister config-push: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const pusher = startConfigPush({ target: args.target, configPath: args.config, log: jsonLinesLog });
  const stop = () => void pusher.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) main();
