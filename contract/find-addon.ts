import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * A native addon built by node-gyp (Release, or Debug from `node-gyp rebuild --debug`), looked for
 * in `build/` of each directory from this file up to the package root (the first holding
 * package.json or binding.gyp): the source layout and dist/ both find it. Undefined when not built.
 */
export function findAddon(fileName: string): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const kind of ['Release', 'Debug']) {
      const file = path.join(dir, 'build', kind, fileName);
      if (fs.existsSync(file)) return file;
    }
    const isRoot = fs.existsSync(path.join(dir, 'package.json')) || fs.existsSync(path.join(dir, 'binding.gyp'));
    if (isRoot || path.dirname(dir) === dir) return undefined;
  }
}

/** Loads the addon at `file` (from `findAddon`); what it exports is for the caller to check. */
export function loadAddon(file: string): unknown {
  // A native addon is loaded by its path, found at run time, so it cannot be an import.
  return createRequire(__filename)(file);
}
