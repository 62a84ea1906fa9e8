/**
 * The package tests (`npm run test:package`): they pack this repository with `npm pack` (which
 * rebuilds dist/) and install the tarball into fresh projects outside it, as a user would. Apart
 * from the unit suite because rebuilding dist/ under tests that read it would race them. Files are
 * tests/package/*.package-test.ts.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.package-test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 5 * 60_000,
};
