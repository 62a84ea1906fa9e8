/**
 * The image tests (`npm run test:image`): they build the repository's Dockerfile in a Docker engine
 * and run the image. One engine and one pair of stand-in base images serve every file: the global
 * setup starts or finds them (installing Debian's docker.io and debootstrap when missing), the
 * global teardown stops the engine. Files are tests/docker/*.image-test.ts, which the unit suite's
 * `**\/*.test.ts` never picks up. Steps take minutes: progress goes to stderr.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.image-test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/tests/docker/global-setup.ts',
  globalTeardown: '<rootDir>/tests/docker/global-teardown.ts',
  testTimeout: 20 * 60_000,
};
