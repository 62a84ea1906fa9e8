#!/usr/bin/env node
'use strict';
/*
 * Assembles the files of the enclave image's final stage into a folder, deterministically: the
 * Dockerfile runs it in its build stage and copies the result, and tests run it here (there is no
 * Docker engine) to check that two assemblies are byte-identical and that the supervisor starts
 * from one.
 *
 *   node scripts/assemble-rootfs.js --out DIR [--from CHECKOUT] [--manifest FILE]
 *
 * DIR receives, from the checkout (default: this script's):
 *   package.json
 *   dist/**                          the compiled code (npm run build)
 *   build/Release/*.node             the native addons (npm's install step)
 *   node_modules/**                  the production dependencies: every package of package-lock.json
 *                                    not marked "dev" that is installed (what `npm prune --omit=dev` keeps)
 * Every file and directory gets the time SOURCE_DATE_EPOCH (or 0), mode 0644 (0755 when any execute
 * bit is set in the source) and directories 0755; files are written in sorted order. DIR must not
 * exist yet (or be empty). The manifest (default DIR.manifest, outside the tree) lists, sorted, one
 * line per entry: `<sha256 hex>  <mode octal>  <size>  <path>` for files and
 * `symlink  <path> -> <target>` for symbolic links; its own SHA-256 is printed as the tree digest.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');

const USAGE = 'usage: node scripts/assemble-rootfs.js --out DIR [--from CHECKOUT] [--manifest FILE]\n';

// node:util's parser, not a package: this runs in the Dockerfile's build stage with the production tree only.
function parseArgs(argv) {
  const { values } = util.parseArgs({
    args: argv,
    options: { out: { type: 'string' }, from: { type: 'string' }, manifest: { type: 'string' } },
    strict: true,
  });
  for (const [flag, value] of Object.entries(values)) if (value === '') throw new Error(`--${flag} needs a value`);
  if (!values.out) throw new Error('--out DIR is required');
  const out = path.resolve(values.out);
  return {
    out,
    from: path.resolve(values.from ?? path.join(__dirname, '..')),
    manifest: path.resolve(values.manifest ?? `${out}.manifest`),
  };
}

function sourceDateEpoch() {
  const value = process.env.SOURCE_DATE_EPOCH ?? '0';
  if (!/^\d+$/.test(value)) throw new Error(`SOURCE_DATE_EPOCH=${value} is not a number of seconds`);
  return Number(value);
}

/** Relative paths (POSIX separators) of what goes into the tree, as [kind, path] with kind "dir" or "tree". */
function selection(from) {
  const need = (rel) => {
    if (!fs.existsSync(path.join(from, rel))) throw new Error(`${path.join(from, rel)} is missing (run npm ci and npm run build first)`);
    return rel;
  };
  const roots = [
    ['file', need('package.json')],
    ['tree', need('dist')],
  ];
  const release = path.join(from, 'build', 'Release');
  if (fs.existsSync(release)) {
    for (const name of fs.readdirSync(release).sort()) {
      if (name.endsWith('.node') && fs.statSync(path.join(release, name)).isFile()) roots.push(['file', `build/Release/${name}`]);
    }
  }
  for (const pkg of productionPackages(from)) roots.push(['package', pkg]);
  return roots;
}

/** node_modules/… directories of the lockfile's production packages that are installed. */
function productionPackages(from) {
  const lock = JSON.parse(fs.readFileSync(path.join(from, must(from, 'package-lock.json')), 'utf8'));
  if (!lock.packages) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 is needed)');
  return Object.keys(lock.packages)
    .filter((key) => key.startsWith('node_modules/'))
    .filter((key) => !lock.packages[key].dev && !lock.packages[key].extraneous)
    .filter((key) => fs.existsSync(path.join(from, key)))
    .sort();
}

function must(from, rel) {
  if (!fs.existsSync(path.join(from, rel))) throw new Error(`${path.join(from, rel)} is missing`);
  return rel;
}

/** Every entry below `rel`, sorted, as relative paths; `skipNodeModules` leaves nested packages to their own lock entries. */
function walk(from, rel, skipNodeModules, into) {
  const full = path.join(from, rel);
  const stat = fs.lstatSync(full);
  into.push(rel);
  if (!stat.isDirectory()) return;
  for (const name of fs.readdirSync(full).sort()) {
    if (skipNodeModules && name === 'node_modules') continue;
    walk(from, `${rel}/${name}`, skipNodeModules, into);
  }
}

function assemble({ out, from, manifest }) {
  const epoch = sourceDateEpoch();
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new Error(`${out} exists and is not empty`);
  const entries = new Set();
  // The parent directories of what is selected (node_modules/, build/Release/, …): always plain
  // directories in the tree, whatever they are in the checkout.
  const parents = new Set();
  for (const [kind, rel] of selection(from)) {
    const list = [];
    walk(from, rel, kind === 'package', list);
    for (const item of list) entries.add(item);
    for (let dir = path.posix.dirname(rel); dir !== '.'; dir = path.posix.dirname(dir)) parents.add(dir);
  }
  for (const dir of parents) entries.add(dir);
  const sorted = [...entries].sort();
  const lines = [];
  const dirs = [];
  fs.mkdirSync(out, { recursive: true });
  for (const rel of sorted) {
    const source = path.join(from, rel);
    const target = path.join(out, rel);
    const stat = fs.lstatSync(source);
    if (parents.has(rel) || stat.isDirectory()) {
      fs.mkdirSync(target, { recursive: true });
      dirs.push(target);
    } else if (stat.isSymbolicLink()) {
      const link = fs.readlinkSync(source);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.symlinkSync(link, target);
      fs.lutimesSync(target, epoch, epoch);
      lines.push(`symlink  ${rel} -> ${link}`);
    } else if (stat.isFile()) {
      const bytes = fs.readFileSync(source);
      const mode = stat.mode & 0o111 ? 0o755 : 0o644;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, bytes, { mode });
      fs.chmodSync(target, mode); // not subject to the umask
      fs.utimesSync(target, epoch, epoch);
      const sha = createHash('sha256').update(bytes).digest('hex');
      lines.push(`${sha}  ${mode.toString(8).padStart(4, '0')}  ${bytes.length}  ${rel}`);
    } else {
      throw new Error(`${source} is neither a file, a directory nor a symbolic link`);
    }
  }
  // Directories last, deepest first, so writing their contents does not change their times again.
  for (const dir of [...dirs, out].sort((a, b) => b.length - a.length || (a < b ? 1 : -1))) {
    fs.chmodSync(dir, 0o755);
    fs.utimesSync(dir, epoch, epoch);
  }
  const text = `${lines.join('\n')}\n`;
  fs.writeFileSync(manifest, text);
  return { files: lines.length, digest: createHash('sha256').update(text).digest('hex') };
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`assemble-rootfs: ${e.message}\n${USAGE}`);
    return 2;
  }
  try {
    const { files, digest } = assemble(args);
    process.stdout.write(`${args.out}: ${files} entries; manifest ${args.manifest}; tree sha256 ${digest}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`assemble-rootfs: ${e.message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main();
module.exports = { assemble, productionPackages };
