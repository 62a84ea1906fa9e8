import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/*
 * The dependency rules of DESIGN.md are checked by `npm test` with dependency-cruiser and
 * .dependency-cruiser.js. Here the same checker runs on small trees laid out like ours: a forbidden
 * import must fail it, naming the rule; allowed imports must pass.
 */
const ROOT = join(__dirname, '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'cloister-deps-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(name: string, files: Record<string, string>): { status: number | null; output: string } {
  const tree = join(dir, name);
  for (const [path, text] of Object.entries({ 'tsconfig.json': '{"compilerOptions": {"module": "commonjs", "strict": true}}', ...files })) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
  const folders = [...new Set(Object.keys(files).map((path) => path.split('/')[0]!))];
  const run = spawnSync(DEPCRUISE, ['--config', join(ROOT, '.dependency-cruiser.js'), ...folders], { cwd: tree, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the dependency rules', () => {
  it('pass a tree whose imports point the allowed way', () => {
    const r = check('allowed', {
      'contract/identity.ts': 'export const HEADER = "X-OBLV-User-Name";\n',
      'attestation/verify.ts': 'import { HEADER } from "../contract/identity";\nexport const v = HEADER;\n',
      'enclave/ingress.ts': 'import { v } from "../attestation/verify";\nexport const i = v;\n',
      'cli/main.ts': 'import { i } from "../enclave/ingress";\nexport const m = i;\n',
    });
    expect(r.output).toMatch(/no dependency violations found/);
    expect(r.status).toBe(0);
  });

  it('fail the build on a forbidden import, naming the rule', () => {
    const cases: [string, Record<string, string>, string][] = [
      [
        'contract',
        { 'contract/a.ts': 'import { b } from "../enclave/b";\nexport const a = b;\n', 'enclave/b.ts': 'export const b = 1;\n' },
        'contract-imports-nothing-of-ours',
      ],
      [
        'enclave',
        { 'enclave/a.ts': 'import { b } from "../parent/b";\nexport const a = b;\n', 'parent/b.ts': 'export const b = 1;\n' },
        'enclave-uses-attestation-transport-contract',
      ],
      [
        'client',
        { 'client/a.ts': 'import { b } from "../enclave/b";\nexport const a = b;\n', 'enclave/b.ts': 'export const b = 1;\n' },
        'client-uses-attestation-contract',
      ],
      ['dev', { 'enclave/a.ts': 'import { b } from "../dev/b";\nexport const a = b;\n', 'dev/b.ts': 'export const b = 1;\n' }, 'nothing-uses-dev-or-cli'],
      [
        'type-only',
        { 'image/a.ts': 'import type { B } from "../client/b";\nexport type A = B;\n', 'client/b.ts': 'export type B = number;\n' },
        'image-uses-only-contract',
      ],
      [
        'cycle',
        { 'parent/a.ts': 'import { b } from "./b";\nexport const a = () => b;\n', 'parent/b.ts': 'import { a } from "./a";\nexport const b = () => a;\n' },
        'no-cycles',
      ],
    ];
    for (const [name, files, rule] of cases) {
      const r = check(name, files);
      expect({ name, failed: r.status !== 0 && r.status !== null }).toEqual({ name, failed: true });
      expect(r.output).toContain(`error ${rule}`);
    }
  });
});
