import { join } from 'node:path';
import type { Command } from 'commander';
import { ClientError, IDENTITY_FILES, generateIdentity } from '../client';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

interface KeygenFlags {
  out?: string;
  json?: boolean;
}

/** `cloister keygen <name>`: a client identity, and the `key:` line that lets it in. */
export function registerKeygen(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('keygen')
    .description("Create a client key (ECDSA P-256) and self-signed certificate, and print the key: line for the enclave configuration's users.")
    .argument('<name>', 'the name to put in the certificate (CN), and the default directory')
    .option('--out <dir>', 'where to write key.pem and cert.pem (default ./<name>)')
    .option('--json', 'print {name, dir, key} as JSON instead of text')
    .action(async (name: string, flags: KeygenFlags) => {
      const dir = flags.out ?? defaultDir(name);
      let keyLine: string;
      try {
        ({ keyLine } = await generateIdentity(name, dir));
      } catch (e) {
        if (e instanceof ClientError) throw new UsageError(e.message);
        throw e;
      }
      if (flags.json) {
        io.stdout(`${JSON.stringify({ name, dir, key: keyLine }, null, 2)}\n`);
      } else {
        io.stdout(
          [
            `Wrote ${join(dir, IDENTITY_FILES.key)} (the private key, mode 0600: keep it) and ${join(dir, IDENTITY_FILES.cert)}.`,
            "Add this user to the enclave configuration's users, with the role it should have:",
            '',
            `  - { name: ${JSON.stringify(name)}, role: "<role>", key: "${keyLine}" }`,
            '',
          ].join('\n'),
        );
      }
      exit(0);
    });
}

/** `./<name>`, which only a plain file name makes safe: no separators, no `.` or `..`. */
function defaultDir(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name)) {
    throw new UsageError(`${JSON.stringify(name)} is not a plain file name, so it cannot be the default directory; give one with --out DIR.`);
  }
  return name;
}
