import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { CodedError } from '../contract/coded-error';
import { packageRoot } from './package-root';

/** Why `cloister init` made nothing. */
export type ScaffoldErrorCode = 'DIRECTORY_NOT_EMPTY' | 'NOT_A_DIRECTORY' | 'INVALID_NAME';

export class ScaffoldError extends CodedError<ScaffoldErrorCode> {}

/** Files kept under another name in the template, since npm leaves `.gitignore` out of a package. */
const RENAMED: Record<string, string> = { gitignore: '.gitignore', dockerignore: '.dockerignore' };
/** npm's rule for a package name: lower case, URL-safe, at most 214 characters, optionally scoped. */
const PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** What `scaffoldService` wrote. */
export interface Scaffolded {
  dir: string;
  name: string;
  /** Paths relative to `dir`, sorted. */
  files: string[];
}

/**
 * Writes a new service into `dir`: an Express app using `requireRole`, its tests with
 * `cloister/testing`, a sample configuration, a reproducible Dockerfile and a README, depending on
 * `cloister@^<version>`. The directory must be absent or empty; everything is written aside and
 * moved into place at the end, so a failure leaves nothing behind.
 */
export function scaffoldService(dir: string, options: { name?: string; cloisterVersion: string }): Scaffolded {
  const target = resolve(dir);
  const name = options.name ?? basename(target).toLowerCase();
  if (name.length > 214 || !PACKAGE_NAME.test(name)) {
    const hint = options.name === undefined ? `; give one with --name` : '';
    throw new ScaffoldError('INVALID_NAME', `${JSON.stringify(name)} is not a valid npm package name (lower case letters, digits, "-", "." or "_")${hint}.`);
  }
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new ScaffoldError('NOT_A_DIRECTORY', `${dir} exists and is not a directory.`);
    if (readdirSync(target).length > 0)
      throw new ScaffoldError('DIRECTORY_NOT_EMPTY', `${dir} is not empty; cloister init writes only into a new or empty directory.`);
  }

  mkdirSync(dirname(target), { recursive: true });
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.cloister-init-`));
  try {
    // The service template ships with the package, beside dist/.
    const files = copyTemplate(join(packageRoot().dir, 'templates', 'service'), staging, { name, cloisterVersion: options.cloisterVersion });
    if (existsSync(target)) rmdirSync(target);
    renameSync(staging, target);
    return { dir: target, name, files: files.map((file) => relative(staging, file)).sort() };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

function copyTemplate(from: string, to: string, values: Record<string, string>): string[] {
  const written: string[] = [];
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const destination = join(to, RENAMED[entry.name] ?? entry.name);
    if (entry.isDirectory()) {
      mkdirSync(destination);
      written.push(...copyTemplate(source, destination, values));
    } else {
      const text = readFileSync(source, 'utf8').replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
      writeFileSync(destination, text);
      written.push(destination);
    }
  }
  return written;
}
