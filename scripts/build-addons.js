#!/usr/bin/env node
'use strict';
/*
 * npm's install step: builds the native addons of binding.gyp (the /dev/nsm driver, the vsock sockets)
 * with node-gyp, on Linux only. Elsewhere (macOS, Windows) it skips them: they are used only
 * inside a Nitro Enclave, and local mode needs neither.
 *
 *   CLOISTER_SKIP_ADDONS=1  skip the build on Linux too (e.g. no C toolchain, local mode only)
 *
 * The P-384 verifier (cloister_p384, over Nettle) is built only where Nettle's and GMP's headers
 * and libraries are installed (Debian: `apt-get install nettle-dev libgmp-dev`); without it,
 * attestation documents are verified with node:crypto, the same answers, about twice as slow.
 *
 * Nothing is downloaded: node-gyp is the one npm ships (npm tells its scripts where it is), and
 * when npm gives no `nodedir`, the headers installed next to this node binary are used if present.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const say = (line) => process.stderr.write(`cloister: ${line}\n`);

function main() {
  if (process.platform !== 'linux') {
    say(`skipping the native addons on ${process.platform}: they only run inside a Nitro Enclave (Linux); local mode does not need them.`);
    return 0;
  }
  if (process.env.CLOISTER_SKIP_ADDONS && process.env.CLOISTER_SKIP_ADDONS !== '0') {
    say('CLOISTER_SKIP_ADDONS is set: not building the native addons (local mode does not need them).');
    return 0;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    say('cannot find node-gyp (npm ships one; run this through npm, e.g. `npm run install`).');
    return hint(1);
  }
  const args = [gyp, 'rebuild'];
  if (nettleAvailable()) args.push('--with-nettle=1');
  else say('Nettle (nettle-dev, libgmp-dev) is not installed: not building the fast P-384 verifier; node:crypto verifies instead.');
  if (!process.env.npm_config_nodedir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
  }
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    say(`could not run node-gyp: ${result.error.message}`);
    return hint(1);
  }
  if (result.status !== 0) {
    say(`node-gyp failed (exit ${result.status ?? result.signal}).`);
    return hint(result.status || 1);
  }
  return 0;
}

function findNodeGyp() {
  const candidates = [];
  // npm (7+) names its bundled node-gyp for the scripts it runs.
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {
    /* not installed locally: fine */
  }
  return candidates.find((file) => fs.existsSync(file));
}

/** Whether a C program using Nettle's ECDSA and GMP compiles and links here. */
function nettleAvailable() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloister-nettle-'));
  try {
    const source = path.join(dir, 'probe.c');
    fs.writeFileSync(source, '#include <gmp.h>\n#include <nettle/ecdsa.h>\nint main(void) { return nettle_get_secp_384r1() == 0; }\n');
    const cc = process.env.CC || 'cc';
    const result = spawnSync(cc, [source, '-o', path.join(dir, 'probe'), '-lhogweed', '-lnettle', '-lgmp'], { stdio: 'ignore' });
    return result.status === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function hint(status) {
  say('the native addons need python3, make and a C compiler (e.g. `apt-get install python3 make g++`).');
  say('to install without them (local mode only), set CLOISTER_SKIP_ADDONS=1.');
  return status;
}

process.exitCode = main();
