import type { Command } from 'commander';
import { packageRoot } from '../dev/package-root';
import { ScaffoldError, scaffoldService } from '../dev/scaffold';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

/** `cloister init <dir> [--name N]`: a new service that depends on Cloister, ready for `npm install`. */
export function registerInit(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('init')
    .description('Create a new service in DIR (absent or empty): an Express app with requireRole, its tests, a sample configuration, a Dockerfile.')
    .argument('<dir>', 'where to create the service')
    .option('--name <name>', 'the npm package name (default: the directory name)')
    .action((dir: string, flags: { name?: string }) => {
      let made;
      try {
        made = scaffoldService(dir, { ...(flags.name !== undefined && { name: flags.name }), cloisterVersion: packageRoot().version });
      } catch (e) {
        if (e instanceof ScaffoldError) throw new UsageError(e.message);
        throw e;
      }
      io.stdout(
        [
          `Created ${made.name} in ${dir}:`,
          ...made.files.map((file) => `  ${file}`),
          '',
          'Next:',
          `  cd ${dir}`,
          '  npm install && npm test    # the tests, as the ingress would call the app',
          '  npm install && npm start   # the local attested stack serving it',
          '',
        ].join('\n'),
      );
      exit(0);
    });
}
