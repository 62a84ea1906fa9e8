import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Boot measurements of a local-mode enclave, hex, as the development NSM takes them. */
export interface DevelopmentPcrs {
  0: string;
  1: string;
  2: string;
}

/**
 * Development stand-ins for the measurements nitro-cli computes for an image: PCR0 is SHA-384 over
 * the built code (every file under `codeDir`, by path and content), so changing the code changes
 * PCR0 and a client policy pinned to the old value refuses the new code, as it would in AWS.
 * PCR1 (kernel) and PCR2 (application layer) are fixed constants: there is no kernel or image
 * layer to measure on a developer's machine.
 */
export function developmentPcrs(codeDir: string): DevelopmentPcrs {
  const hash = createHash('sha384');
  const files = filesUnder(codeDir).map((file) => ({ file, name: relative(codeDir, file).split(sep).join('/') }));
  // Code-unit order, not locale order: the digest must not depend on the machine's settings.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { file, name } of files) {
    const bytes = readFileSync(file);
    // Path and length framing: moving bytes between files or renaming one changes the digest.
    hash.update(`${name}\0${bytes.length}\0`).update(bytes);
  }
  return { 0: hash.digest('hex'), 1: constant('PCR1 kernel'), 2: constant('PCR2 application') };
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
