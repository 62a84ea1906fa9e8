import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaffoldService } from '../../dev/scaffold';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cloister-scaffold-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('cloister init (scaffoldService)', () => {
  it('writes the service, named after its directory, depending on this version of cloister', () => {
    const made = scaffoldService(join(tmp, 'Salary-Bench'), { cloisterVersion: '1.2.3' });
    expect(made.name).toBe('salary-bench');
    expect(made.files).toEqual([
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'README.md',
      'cloister.config.json',
      'package.json',
      'src/app.ts',
      'test/app.test.ts',
      'tsconfig.json',
    ]);
    const pkg = JSON.parse(readFileSync(join(tmp, 'Salary-Bench', 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'salary-bench', dependencies: { cloister: '^1.2.3' } });
    expect(readFileSync(join(tmp, 'Salary-Bench', 'src', 'app.ts'), 'utf8')).toContain('requireRole(config.role)');
    expect(readFileSync(join(tmp, 'Salary-Bench', 'Dockerfile'), 'utf8')).toContain('"--app-module", "/app/dist/src/app.js"');
    expect(readdirSync(tmp)).toEqual(['Salary-Bench']);
  });

  it('fills an empty directory, and takes --name', () => {
    mkdirSync(join(tmp, 'empty'));
    expect(scaffoldService(join(tmp, 'empty'), { name: '@acme/psi', cloisterVersion: '1.0.0' }).name).toBe('@acme/psi');
    expect(readFileSync(join(tmp, 'empty', 'README.md'), 'utf8')).toMatch(/^# @acme\/psi\n/);
  });

  it.each([
    ['a directory that is not empty', () => writeFileSync(join(tmp, 'svc', 'keep.txt'), 'mine'), {}, 'DIRECTORY_NOT_EMPTY'],
    ['a name npm refuses', () => {}, { name: 'Has Spaces' }, 'INVALID_NAME'],
  ])('refuses %s and changes nothing', (_what, prepare, options, code) => {
    mkdirSync(join(tmp, 'svc'));
    prepare();
    const before = readdirSync(join(tmp, 'svc'));
    expect(() => scaffoldService(join(tmp, 'svc'), { ...options, cloisterVersion: '1.0.0' })).toThrow(expect.objectContaining({ code }));
    expect(readdirSync(join(tmp, 'svc'))).toEqual(before);
    expect(readdirSync(tmp)).toEqual(['svc']);
  });

  it('refuses a path that is a file', () => {
    writeFileSync(join(tmp, 'file'), '');
    expect(() => scaffoldService(join(tmp, 'file'), { cloisterVersion: '1.0.0' })).toThrow(expect.objectContaining({ code: 'NOT_A_DIRECTORY' }));
    expect(existsSync(join(tmp, 'file'))).toBe(true);
  });
});
