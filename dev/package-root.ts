import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The root of the Cloister package this code belongs to: the nearest directory above it with
 * Cloister's package.json. The same from dist/ (built, installed) and from the sources (tests).
 */
export function packageRoot(from: string = __dirname): { dir: string; version: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cloister' && typeof pkg.version === 'string') return { dir, version: pkg.version };
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of cloister above ${from}`);
  }
}
