import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/* The Dockerfile's reproducibility rules, checked statically (there is no Docker engine here). */

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

  it('installs from the lockfile, builds the addons and the code, and drops dev dependencies in the build stage', () => {
    const build = instructions.join('\n');
    expect(build).toMatch(/npm ci\b/);
    expect(build).not.toMatch(/npm install\b/);
    expect(build).toMatch(/npm run install\b/);
    expect(build).toMatch(/npm run build\b/);
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(build).toMatch(/node scripts\/assemble-rootfs\.js --from \/src --out \/rootfs\/app/);
  });

  it('copies only the assembled tree into the final stage and runs the supervisor without a shell', () => {
    const final = instructions.slice(instructions.indexOf('FROM ${BASE_IMAGE}'));
    expect(final.filter((l) => /^(COPY|ADD|RUN)\b/.test(l))).toEqual(['COPY --from=build /rootfs/app/ /app/']);
    expect(final).toContain('ARG SOURCE_DATE_EPOCH=0');
    expect(final.some((l) => /^ENV SOURCE_DATE_EPOCH=\$\{SOURCE_DATE_EPOCH\}/.test(l))).toBe(true);
    const entrypoint = final.filter((l) => l.startsWith('ENTRYPOINT'));
    expect(entrypoint).toHaveLength(1);
    expect(JSON.parse(entrypoint[0]!.slice('ENTRYPOINT'.length))).toEqual(['/usr/local/bin/node', 'dist/enclave/main.js', '--config-from', 'vsock://4294967295:5002']);
    expect(final.some((l) => /^(CMD|SHELL)\b/.test(l))).toBe(false);
  });

  it('bakes in no secret and no build time', () => {
    expect(dockerfile).not.toMatch(/--mount=type=secret|AWS_(ACCESS|SECRET)|NPM_TOKEN|_authToken|date \+|\$\(date/i);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', 'build', '.cloister', '.env']) expect(ignore).toContain(entry);
  });
});
