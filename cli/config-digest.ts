import type { Command } from 'commander';
import { ConfigError } from '../contract/config';
import { pcr16For } from '../contract/config-digest';
import { loadConfigFile } from '../contract/load-config';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

/** `cloister config digest <file>`: what PCR16 and every attestation will carry for a configuration. */
export function registerConfigDigest(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('config')
    .description('Runtime configuration files.')
    .command('digest')
    .description('Validate a configuration file (JSON or YAML) and print its digest (SHA-384 of its RFC 8785 canonical JSON) and the PCR16 value it yields.')
    .argument('<file>', 'the configuration file')
    .option('--json', 'print {file, digest, pcr16} as JSON instead of text')
    .action((file: string, flags: { json?: boolean }) => {
      let digest: Buffer;
      try {
        ({ digest } = loadConfigFile(file));
      } catch (e) {
        if (e instanceof ConfigError) throw new UsageError(`${file}: ${e.message}`);
        throw e;
      }
      const result = { file, digest: digest.toString('hex'), pcr16: pcr16For(digest).toString('hex') };
      io.stdout(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `config  ${result.file}\ndigest  ${result.digest}\nPCR16   ${result.pcr16}\n`);
      exit(0);
    });
}
