import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBlobs } from '../image/blobs';
import { bootstrapRamdisk } from '../image/bootstrap-ramdisk';
import { customerRamdisk } from '../image/customer-ramdisk';
import { indexTar } from '../image/tar-index';
import { writeEif } from '../image/write-eif';

/**
 * The image budget of DESIGN.md, measured in one run:
 * - `cloister build --image` from a built 300 MB Docker image to EIF and PCRs (docker export, the
 *   canonical ramdisk, the EIF, the PCRs): wall time and peak memory, beside the time of the
 *   `docker export` alone, which no EIF builder can avoid;
 * - `cloister pcrs` over that EIF, beside `sha384sum` of the same file.
 * Needs a Docker engine (`docker info` must answer, e.g. with DOCKER_HOST); without one it says so
 * and measures `cloister pcrs` on an EIF written from the same files without docker.
 */
const IMAGE_BYTES = 300 * 2 ** 20;
const FILE_BYTES = 256 * 1024;
const ROOT = join(__dirname, '..', '..');
const BLOBS = join(ROOT, 'tests', 'fixtures', 'nitro-blobs', 'x86_64');

/** Runs `cloister …` in a child and returns its wall time and peak resident memory. */
function timedCli(args: string[]): { ms: number; maxRssMiB: number; stdout: string } {
  const script =
    `require(${JSON.stringify(join(ROOT, 'dist', 'cli', 'main.js'))}).runCli(process.argv.slice(1), { stdout: (t) => process.stdout.write(t), stderr: () => {} })` +
    `.then((s) => { process.stderr.write(JSON.stringify({ status: s, maxRss: process.resourceUsage().maxRSS }) + '\\n'); process.exitCode = s; })`;
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['-e', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const last = JSON.parse(run.stderr.trim().split('\n').pop() ?? '{}') as { status?: number; maxRss?: number };
  if (run.status !== 0 || last.status !== 0) throw new Error(`cloister ${args[0]} failed: ${run.stderr}${run.stdout}`);
  return { ms, maxRssMiB: (last.maxRss ?? 0) / 1024, stdout: run.stdout };
}

function timed(command: string, args: string[]): number {
  const started = process.hrtime.bigint();
  execFileSync(command, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** The same EIF from a tar of the files, for a machine without a Docker engine. */
function eifWithoutDocker(tree: string, kernel: string, tar: string, out: string): void {
  execFileSync('tar', ['--create', '--file', tar, '-C', tree, '.']);
  mkdirSync(out, { recursive: true });
  const blobs = readBlobs(BLOBS, kernel);
  const fd = openSync(tar, 'r');
  try {
    const image = customerRamdisk(fd, indexTar(fd), { cmd: ['/bin/app'], env: [] });
    writeEif(join(out, 'cloister.eif'), { kernel, cmdline: blobs.cmdline, metadata: Buffer.from('{}'), ramdisks: [bootstrapRamdisk(blobs), image] });
  } finally {
    closeSync(fd);
  }
}

const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'cloister-bench-image-'));
try {
  const tree = join(work, 'tree');
  for (let i = 0; i < IMAGE_BYTES / FILE_BYTES; i++) {
    const folder = join(tree, 'data', String(i % 40));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `f${i}.bin`), randomBytes(FILE_BYTES));
  }
  mkdirSync(join(tree, 'bin'), { recursive: true });
  writeFileSync(join(tree, 'bin', 'app'), '#!/bin/sh\n', { mode: 0o755 });
  const kernel = join(work, 'bzImage');
  writeFileSync(kernel, randomBytes(5 * 2 ** 20));
  writeFileSync(join(work, 'tiny-kernel'), randomBytes(1024));
  const out = join(work, 'out');
  const mib = (bytes: number) => bytes / 2 ** 20;

  console.log(
    `enclave image build and PCRs, Node ${process.version}; a ${mib(IMAGE_BYTES)} MiB image of ${IMAGE_BYTES / FILE_BYTES} random files, a 5 MiB kernel`,
  );
  if (dockerWorks) {
    const tar = join(work, 'tree.tar');
    execFileSync('tar', ['--create', '--file', tar, '-C', tree, '.']);
    const image = 'cloister-bench-image:300m';
    execFileSync('docker', ['import', '--change', 'ENTRYPOINT ["/bin/app"]', tar, image], { stdio: 'ignore' });
    rmSync(tar);
    const container = execFileSync('docker', ['create', '--network', 'none', image], { encoding: 'utf8' }).trim();
    const exportMs = timed('docker', ['export', '--output', join(work, 'export.tar'), container]);
    execFileSync('docker', ['rm', container], { stdio: 'ignore' });
    rmSync(join(work, 'export.tar'));
    const build = timedCli(['build', '--image', image, '--out', out, '--blobs', BLOBS, '--kernel', kernel]);
    const eifMiB = mib(statSync(join(out, 'cloister.eif')).size);
    console.log(
      `cloister build --image (300 MiB image → ${eifMiB.toFixed(0)} MiB EIF + PCRs)  ${(build.ms / 1000).toFixed(2)} s (budget 10 s), peak RSS ${build.maxRssMiB.toFixed(0)} MiB`,
    );
    console.log(`  of which docker export alone                          ${(exportMs / 1000).toFixed(2)} s`);
    execFileSync('docker', ['image', 'rm', image], { stdio: 'ignore' });
  } else {
    console.log('cloister build: not run, no Docker engine answers `docker info` (start one, or set DOCKER_HOST)');
    eifWithoutDocker(tree, kernel, join(work, 'tree.tar'), out);
  }
  const eif = join(out, 'cloister.eif');
  const eifMiB = mib(statSync(eif).size);
  execFileSync('cat', [eif], { stdio: 'ignore' }); // both readers start from a warm page cache
  const pcrs = timedCli(['pcrs', eif, '--json']);
  // What starting Node and loading the CLI costs, whatever the file: `cloister pcrs` of an EIF with an empty image.
  const small = join(work, 'small');
  eifWithoutDocker(join(work, 'tree', 'bin'), join(work, 'tiny-kernel'), join(work, 'small.tar'), small);
  const startup = timedCli(['pcrs', join(small, 'cloister.eif'), '--json']);
  const sha = timed('sha384sum', [eif]);
  const pcrsRate = eifMiB / (pcrs.ms / 1000);
  const hashRate = eifMiB / ((pcrs.ms - startup.ms) / 1000);
  const shaRate = eifMiB / (sha / 1000);
  console.log(
    `cloister pcrs (CRC, PCR0, PCR1, PCR2 of a ${eifMiB.toFixed(0)} MiB EIF)   ${(pcrs.ms / 1000).toFixed(2)} s, ${pcrsRate.toFixed(0)} MiB/s, peak RSS ${pcrs.maxRssMiB.toFixed(0)} MiB`,
  );
  console.log(
    `  of which starting Node and the CLI                   ${(startup.ms / 1000).toFixed(2)} s; reading and hashing alone ${hashRate.toFixed(0)} MiB/s`,
  );
  console.log(`sha384sum of the same file                            ${(sha / 1000).toFixed(2)} s, ${shaRate.toFixed(0)} MiB/s`);
  console.log(
    `cloister pcrs vs sha384sum: ${(pcrsRate / shaRate).toFixed(2)}x the throughput, ${(hashRate / shaRate).toFixed(2)}x without start-up (PCR0 and PCR2 each hash the image ramdisk, on two threads)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
