#!/usr/bin/env node
import { runCli } from './main';

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (status) => (process.exitCode = status),
  (error: unknown) => {
    // A bug, not a verdict: say so, and never exit 0 or 1, which callers read as one.
    process.stderr.write(`cloister: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
