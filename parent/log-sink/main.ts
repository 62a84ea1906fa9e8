/**
 * `node dist/parent/log-sink/main.js --listen ADDRESS [--max-connections N] [--max-line-bytes N]`:
 * the log sink as a process of its own on the parent instance (listening on vsock port 5003),
 * writing the enclave's log lines to its standard output. Stopped by SIGTERM or SIGINT.
 */
import { jsonLinesLogger } from '../../contract/log';
import { LISTEN, MAX_CONNECTIONS, MAX_LINE_BYTES, readFlags } from '../flags';
import { type Address, formatAddress } from '../../transport/address';
import { startLogSink } from './index';
import { failWithUsage, stopOnSignal } from '../process-life';

const USAGE =
  'usage: node dist/parent/log-sink/main.js --listen ADDRESS [--max-connections N] [--max-line-bytes N]\n' +
  '  e.g. --listen vsock://3:5003 (on the parent instance), --listen unix:///run/cloister/logs.sock (local mode)\n' +
  '  --max-connections: connections at once (default 16); --max-line-bytes: longer lines are dropped and reported (default 65536)\n';

/** What the log sink process is asked to do, from its flags. */
export interface LogSinkArgs {
  listen: Address;
  maxConnections?: number;
  maxLineBytes?: number;
}

/** The sink's flags from argv (`--name VALUE` or `--name=VALUE`); throws a usage message otherwise. */
export function parseLogSinkArgs(argv: readonly string[]): LogSinkArgs {
  return readFlags<LogSinkArgs>(argv, [LISTEN, MAX_CONNECTIONS, MAX_LINE_BYTES], [LISTEN]);
}

async function main(): Promise<void> {
  let args: LogSinkArgs;
  try {
    args = parseLogSinkArgs(process.argv.slice(2));
  } catch (e) {
    return failWithUsage(`cloister log sink: ${(e as Error).message}\n${USAGE}`);
  }
  // A collector that went away (EPIPE) loses lines, not the sink.
  process.stdout.on('error', () => {});
  let sink;
  try {
    sink = await startLogSink({ ...args, log: jsonLinesLogger });
  } catch (e) {
    return failWithUsage(`cloister log sink: cannot listen on ${formatAddress(args.listen)}: ${(e as Error).message}\n`);
  }
  jsonLinesLogger({ level: 'info', event: 'log_sink_listening', listen: formatAddress(sink.address) });
  stopOnSignal(() => sink.close());
}

if (require.main === module) void main();
