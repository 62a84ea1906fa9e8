import { Command, CommanderError } from 'commander';
import { UsageError } from './usage-error';
import { registerVerify } from './verify';

/** Where a command writes; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * Runs `cloister` with `argv` (without the node and script names) and returns the exit status:
 * 0 verified or succeeded, 1 refused, 2 usage or I/O error.
 */
export function runCli(argv: string[], io: CliIo): number {
  let status = 0;
  const program = new Command('cloister')
    .description('Verify and talk to Cloister enclaves.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerVerify(program, io, (code) => (status = code));
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      io.stderr(`cloister: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return status;
}
