import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';
import { SectionType } from '../image/eif-format';
import { ImageError } from '../image/errors';
import { readEif } from '../image/read-eif';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

/** `cloister pcrs <eif>`: the PCRs of any EIF, after checking its section table and CRC. */
export function registerPcrs(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('pcrs')
    .description("Read an EIF (cloister build's or nitro-cli's), check its section table and CRC, and print PCR0, PCR1, PCR2 (and PCR8 when signed).")
    .argument('<eif>', 'the enclave image file')
    .option('--json', 'print the PCRs as JSON, in the form of the pcrs.json that cloister build writes')
    .action((eif: string, flags: { json?: boolean }) => {
      try {
        accessSync(eif, constants.R_OK);
      } catch (e) {
        throw new UsageError(`cannot read ${eif}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
      }
      try {
        const report = readEif(eif, (done, total) => io.stderr(`cloister pcrs: ${Math.round((100 * done) / total)}% read\n`));
        if (flags.json) {
          io.stdout(`${JSON.stringify(report.pcrs, null, 2)}\n`);
        } else {
          const payload = report.sections.reduce((sum, s) => sum + s.size, 0);
          const ramdisks = report.sections.filter((s) => s.type === SectionType.ramdisk).length;
          io.stdout(
            [
              `✓ ${eif}: EIF version ${report.version}, ${report.arch}, ${report.sections.length} sections, CRC correct`,
              `  ${ramdisks} ramdisks, ${payload} bytes of payload`,
              ...Object.entries(report.pcrs).map(([name, hex]) => `  ${name.padEnd(5)} ${hex}`),
            ].join('\n') + '\n',
          );
        }
        exit(0);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        io.stderr(`cloister pcrs: ${e.code}: ${e.message}\n`);
        exit(1);
      }
    });
}
