import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This package's version, from its package.json (one level up from the sources, two from dist/). */
export function toolVersion(): string {
  for (const path of [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    if (!existsSync(path)) continue;
    const { name, version } = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
    if (name === 'cloister' && typeof version === 'string') return version;
  }
  return 'unknown';
}
