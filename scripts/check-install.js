#!/usr/bin/env node
'use strict';
/*
 * Checks that node_modules holds exactly what package-lock.json says npm should have installed.
 * `npm ci` can exit 0 having installed nothing (an unreachable registry, a cache that lies), and a
 * Docker layer made that way is cached and fails much later; the Dockerfile runs this right after
 * each install step so that such a step stops the build where it went wrong.
 *
 *   node scripts/check-install.js [--omit=dev|optional|peer ...] [--from CHECKOUT]
 *
 * Every `node_modules/…` entry of the lockfile must be installed at its path with the name and
 * version the lockfile gives, except the entries npm leaves out by design: those of an omitted kind
 * (as `npm ci --omit=…` or `npm prune --omit=…`), and optional ones made for another platform (os,
 * cpu or libc). The first missing or different package is named; exit 1. CHECKOUT defaults to the
 * checkout this script is in.
 */
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');

const USAGE = 'usage: node scripts/check-install.js [--omit=dev|optional|peer ...] [--from CHECKOUT]\n';
const OMITTABLE = ['dev', 'optional', 'peer'];

class UsageError extends Error {}

// node:util's parser, not a package: this runs in the Dockerfile before anything is trusted to be installed.
function parseArgs(argv) {
  let values;
  try {
    ({ values } = util.parseArgs({ args: argv, options: { omit: { type: 'string', multiple: true }, from: { type: 'string' } }, strict: true }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  for (const value of values.omit ?? []) {
    if (!OMITTABLE.includes(value)) throw new UsageError(`--omit takes ${OMITTABLE.join(', ')}, not "${value}"`);
  }
  if (values.from === '') throw new UsageError('--from needs a value');
  return { omit: new Set(values.omit ?? []), from: path.resolve(values.from ?? path.join(__dirname, '..')) };
}

/** Whether npm leaves this lockfile entry out when `omit` is in force (npm's own rule for devOptional). */
function omitted(entry, omit) {
  if (entry.dev && omit.has('dev')) return true;
  if (entry.optional && omit.has('optional')) return true;
  if (entry.devOptional && omit.has('dev') && omit.has('optional')) return true;
  return Boolean(entry.peer && omit.has('peer'));
}

/** npm-install-checks' rule: a list of allowed values, where "!x" excludes x and "any" allows all. */
function allows(list, value) {
  if (!Array.isArray(list) || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  if (list.includes(value) || list.includes('any')) return true;
  return list.every((item) => item.startsWith('!'));
}

function currentLibc() {
  if (process.platform !== 'linux') return undefined;
  const header = process.report.getReport().header;
  return header.glibcVersionRuntime ? 'glibc' : 'musl';
}

function forThisPlatform(entry, libc) {
  return allows(entry.os, process.platform) && allows(entry.cpu, process.arch) && (!entry.libc || allows(entry.libc, libc));
}

/** The lockfile entries that must be installed, as [key, entry], in the lockfile's order. */
function expectedPackages(lock, omit) {
  if (!lock.packages) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 is needed)');
  const libc = currentLibc();
  return Object.entries(lock.packages).filter(([key, entry]) => {
    if (!key.startsWith('node_modules/') && !key.includes('/node_modules/')) return false;
    if (entry.extraneous || omitted(entry, omit)) return false;
    return !(entry.optional || entry.devOptional) || forThisPlatform(entry, libc);
  });
}

/** Why the package at `key` is not what the lockfile says, or null when it is. */
function problemWith(from, key, entry) {
  const dir = path.join(from, key);
  if (entry.link) return fs.existsSync(dir) ? null : `${key} is missing (a link to ${entry.resolved})`;
  const name = entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const wanted = `${name}@${entry.version}`;
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return `${key} is missing: package-lock.json says ${wanted} is installed there`;
    return `${key}/package.json cannot be read (${e.message}): package-lock.json says ${wanted} is installed there`;
  }
  if (manifest.name !== name || manifest.version !== entry.version) {
    return `${key} holds ${manifest.name}@${manifest.version}, but package-lock.json says ${wanted}`;
  }
  return null;
}

function check({ from, omit }) {
  const lockPath = path.join(from, 'package-lock.json');
  let lock;
  try {
    lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${lockPath}: ${e.message}`);
  }
  const expected = expectedPackages(lock, omit);
  const problems = expected.map(([key, entry]) => problemWith(from, key, entry)).filter((problem) => problem !== null);
  return { checked: expected.length, problems };
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`check-install: ${e.message}\n${USAGE}`);
    return 2;
  }
  const omitting = args.omit.size > 0 ? ` (omitting ${[...args.omit].join(', ')})` : '';
  let result;
  try {
    result = check(args);
  } catch (e) {
    process.stderr.write(`check-install: ${e.message}\n`);
    return 1;
  }
  const { checked, problems } = result;
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more of the ${checked} packages)` : '';
    process.stderr.write(
      `check-install: ${problems[0]}${more}${omitting}. The install step did not install the lockfile: ` +
        'check that the npm registry (or the npm cache, offline) was reachable, then run it again.\n',
    );
    return 1;
  }
  process.stdout.write(`check-install: the ${checked} packages of package-lock.json${omitting} are installed\n`);
  return 0;
}

if (require.main === module) process.exitCode = main();
module.exports = { check, expectedPackages };
