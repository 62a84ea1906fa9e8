import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The Dockerfile's reproducibility rules, checked statically; tests/docker/*.image-test.ts build it
 * for real (npm run test:image).
 */

const ROOT = join(__dirname, '..', '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.filter((l) => /^FROM /i.test(l));

describe('Dockerfile', () => {
  it('pins every base image by digest through a build argument', () => {
    const args = Object.fromEntries(instructions.filter((l) => /^ARG \w+=/.test(l)).map((l) => l.slice(4).split('=') as [string, string]));
    expect(args.BASE_IMAGE).toMatch(/^node:20-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(args.BUILD_IMAGE).toMatch(/^node:20[\w.-]*@sha256:[0-9a-f]{64}$/);
    expect(stages).toEqual(['FROM ${BUILD_IMAGE} AS build', 'FROM ${BASE_IMAGE}']);
  });

  it('needs no frontend pulled by tag', () => {
    expect(dockerfile).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it('installs from the lockfile and checks the install after each step, builds the addons and the code, and drops dev dependencies', () => {
    const runs = instructions
      .filter((l) => /^RUN /.test(l))
      .map((l) =>
        l
          .slice(4)
          .split(/\s*&&\s*/)
          .map((c) => c.trim()),
      );
    expect(runs).toEqual([
      ['npm ci --ignore-scripts', 'node scripts/check-install.js'],
      [
        'npm rebuild',
        'npm run install',
        'npm run build',
        'npm prune --omit=dev --ignore-scripts',
        'node scripts/check-install.js --omit=dev',
        'node scripts/assemble-rootfs.js --from /src --out /rootfs/app --manifest /rootfs.manifest',
      ],
    ]);
    // The check runs before the whole checkout is copied in, so it is copied on its own first.
    const build = instructions.slice(0, instructions.indexOf('FROM ${BASE_IMAGE}'));
    expect(build.indexOf('COPY scripts/check-install.js scripts/')).toBeLessThan(build.findIndex((l) => l.startsWith('RUN npm ci')));
  });

  it('copies only the assembled tree into the final stage, leaving no directory with a build-time time, and runs the supervisor by absolute paths without a shell', () => {
    const final = instructions.slice(instructions.indexOf('FROM ${BASE_IMAGE}'));
    // /app comes from the assembled tree (time SOURCE_DATE_EPOCH): no WORKDIR, no copy to /app that would make it anew.
    expect(final.filter((l) => /^(COPY|ADD|RUN|WORKDIR|VOLUME|USER)\b/.test(l))).toEqual(['COPY --from=build /rootfs/ /']);
    expect(final).toContain('ARG SOURCE_DATE_EPOCH=0');
    expect(final.some((l) => /^ENV SOURCE_DATE_EPOCH=\$\{SOURCE_DATE_EPOCH\}/.test(l))).toBe(true);
    const entrypoint = final.filter((l) => l.startsWith('ENTRYPOINT'));
    expect(entrypoint).toHaveLength(1);
    // The enclave's init keeps only the command and the environment, not the working directory.
    expect(JSON.parse(entrypoint[0]!.slice('ENTRYPOINT'.length))).toEqual([
      '/usr/local/bin/node',
      '/app/dist/enclave/main.js',
      '--config-from',
      'vsock://4294967295:5002',
      '--log-sink',
      'vsock://3:5003',
      '--app-module',
      '/app/dist/examples/index.js',
    ]);
    expect(final.some((l) => /^(CMD|SHELL)\b/.test(l))).toBe(false);
  });

  it('bakes in no secret and no build time', () => {
    expect(dockerfile).not.toMatch(/--mount=type=secret|AWS_(ACCESS|SECRET)|NPM_TOKEN|_authToken|date \+|\$\(date/i);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', 'build', '.cloister', '.env']) expect(ignore).toContain(entry);
  });
});
