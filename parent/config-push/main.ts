/**
 * `node dist/parent/config-push/main.js --target ADDRESS --config FILE`: the parent's config push
 * (to the enclave's vsock port 5002), as a process of its own; it pushes at boot and again every
 * time the enclave restarts, until SIGTERM.
 */
import { existsSync } from 'node:fs';
import { jsonLinesLogger } from '../../contract/log';
import { CONFIG, TARGET, readFlags } from '../flags';
import type { Address } from '../../transport/address';
import { startConfigPush } from './index';
import { failWithUsage, stopOnSignal } from '../process-life';

const USAGE =
  'usage: node dist/parent/config-push/main.js --target ADDRESS --config FILE\n' + '  e.g. --target vsock://16:5002 --config cloister.config.json\n';

/** The config push's flags from argv (`--name VALUE` or `--name=VALUE`); throws a usage message otherwise. */
export function parseArgs(argv: readonly string[]): { target: Address; config: string } {
  return readFlags<{ target: Address; config: string }>(argv, [TARGET, CONFIG], [TARGET, CONFIG]);
}

function main(): void {
  let args: { target: Address; config: string };
  try {
    args = parseArgs(process.argv.slice(2));
    if (!existsSync(args.config)) throw new Error(`${args.config} does not exist`);
  } catch (e) {
    failWithUsage(`cloister config-push: ${(e as Error).message}\n${USAGE}`);
    return;
  }
  const pusher = startConfigPush({ target: args.target, configPath: args.config, log: jsonLinesLogger });
  stopOnSignal(() => pusher.stop());
}

if (require.main === module) main();
