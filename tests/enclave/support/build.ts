import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..', '..');
/** The folders `npm run build` compiles: the first segment of each of tsconfig.build.json's include globs. */
const SOURCES = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include.map((glob) => glob.split('/')[0]!);

/** A JavaScript build of the project for tests that run its processes. */
export interface TestBuild {
  /** The build's root: `<dir>/enclave/main.js`, `<dir>/cli/index.js`, … */
  dir: string;
  remove(): void;
}

/** The example apps' module in a build, as `cloister dev` serves it by default. */
export const examplesApp = (buildDir: string) => ({ kind: 'module' as const, path: join(buildDir, 'examples', 'index.js') });

/**
 * Transpiles every source file, file by file, into a fresh directory under `.cloister/` (inside the
 * checkout, so node_modules resolve), as `npm run build` lays out dist/. Transpiling without a type
 * check takes a second and does not depend on files other people are editing being type-correct;
 * `npx tsc --noEmit` checks types separately.
 */
export function buildForTests(): TestBuild {
  mkdirSync(join(ROOT, '.cloister'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cloister', 'enclave-test-build-'));
  for (const source of SOURCES) {
    if (existsSync(join(ROOT, source))) transpileTree(join(ROOT, source), dir);
  }
  cpSync(join(ROOT, 'attestation', 'roots'), join(dir, 'attestation', 'roots'), { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function transpileTree(from: string, outDir: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, entry.name);
    if (entry.isDirectory()) {
      transpileTree(path, outDir);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const { outputText } = ts.transpileModule(readFileSync(path, 'utf8'), {
        fileName: path,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      const target = join(outDir, relative(ROOT, path)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, outputText);
    }
  }
}
