import { Command, CommanderError } from 'commander';
import { registerAttest } from './attest';
import { registerBuild } from './build';
import { registerCall } from './call';
import { registerConfigDigest } from './config-digest';
import { registerDev } from './dev';
import { registerInit } from './init';
import { registerKeygen } from './keygen';
import { registerPcrs } from './pcrs';
import { registerRun } from './run';
import type { CliIo } from './io';
import { MAX_MESSAGE_CHARS, terminalText } from './terminal-text';
import { UsageError } from './usage-error';
import { registerVerify } from './verify';
import { registerVerifyBuild } from './verify-build';
import { registerVerifyResult } from './verify-result';

/**
 * Runs `cloister` with `argv` (without the node and script names) and resolves to the exit status:
 * 0 verified or succeeded, 1 refused, 2 usage or I/O error.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let status = 0;
  const exit = (code: number) => (status = code);
  const program = new Command('cloister')
    .description('Verify and talk to Cloister enclaves.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerInit(program, io, exit);
  registerKeygen(program, io, exit);
  registerAttest(program, io, exit);
  registerCall(program, io, exit);
  registerVerify(program, io, exit);
  registerVerifyResult(program, io, exit);
  registerConfigDigest(program, io, exit);
  registerDev(program, io, exit);
  registerBuild(program, io, exit);
  registerPcrs(program, io, exit);
  registerVerifyBuild(program, io, exit);
  registerRun(program, io, exit);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      // A message may quote a file or a parser's complaint about it: escaped, it cannot draw on the terminal.
      io.stderr(`cloister: ${terminalText(e.message, MAX_MESSAGE_CHARS)}\n`);
      return 2;
    }
    throw e;
  }
  return status;
}
