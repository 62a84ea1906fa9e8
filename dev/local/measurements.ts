import { type Hash, createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { type HostedApp, describeHostedApp } from '../../enclave/hosted-app';

/** Boot measurements of a local-mode enclave, hex, as the development NSM takes them. */
export interface DevelopmentPcrs {
  0: string;
  1: string;
  2: string;
}

/**
 * Development stand-ins for the measurements of an image: PCR0 is SHA-384 over Cloister's built
 * code (every file under `codeDir`, by path and content), so changing the code changes PCR0 and a
 * client policy pinned to the old value refuses the new code, as it would in AWS. PCR2 measures
 * the app the stack serves, as the image's command does: how it is named and, for a module, every
 * file of the directory it lies in. PCR1 (the kernel) is a constant: there is none to measure.
 */
export function developmentPcrs(codeDir: string, app: HostedApp): DevelopmentPcrs {
  const pcr0 = treeDigest(createHash('sha384'), codeDir);
  const pcr2 = createHash('sha384').update(`cloister development PCR2 application\0${describeHostedApp(app)}\0`);
  return { 0: pcr0.digest('hex'), 1: constant('PCR1 kernel'), 2: (app.kind === 'module' ? treeDigest(pcr2, dirname(app.path)) : pcr2).digest('hex') };
}

function treeDigest(hash: Hash, dir: string): Hash {
  const files = filesUnder(dir).map((file) => ({ file, name: relative(dir, file).split(sep).join('/') }));
  // Code-unit order, not locale order: the digest must not depend on the machine's settings.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { file, name } of files) {
    const bytes = readFileSync(file);
    // Path and length framing: moving bytes between files or renaming one changes the digest.
    hash.update(`${name}\0${bytes.length}\0`).update(bytes);
  }
  return hash;
}

function constant(what: string): string {
  return createHash('sha384').update(`cloister development ${what}`).digest('hex');
}

function filesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
