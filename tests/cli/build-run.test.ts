import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadPolicy } from '../../client';
import { loadConfigFile } from '../../contract/load-config';
import { readEif } from '../../image/read-eif';
import { BLOBS } from '../image/eif-support';
import { type TestBuild, buildForTests } from '../enclave/support/build';
import { startSupervisor } from '../enclave/support/supervisor';
import { STANDIN_ENCLAVE_ID, STANDIN_PCRS, type StandInEntry, readLog, writeStandIns } from './build-run-standins';
import { cloister } from './run';
import { isAlive } from '../helpers/processes';

const ROOT = join(__dirname, '..', '..');
const CONFIG = join(ROOT, 'examples', 'cloister.config.json');
const DIGEST = loadConfigFile(CONFIG).digest.toString('hex');
const PINNED = `node:20-bookworm-slim@sha256:${'ab'.repeat(32)}`;

let dir: string;
let standins: ReturnType<typeof writeStandIns>;
let log: string;
const savedEnv = { ...process.env };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-build-run-'));
  standins = writeStandIns(dir);
  log = standins.env.STANDIN_LOG!;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  rmSync(log, { force: true });
  Object.assign(process.env, standins.env, { PATH: `${standins.bin}${delimiter}${savedEnv.PATH}` });
  delete process.env.SOURCE_DATE_EPOCH;
  delete process.env.STANDIN_FAIL;
  delete process.env.STANDIN_NO_COMMAND;
});
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

describe('cloister build (against docker and nitro-cli stand-ins)', () => {
  let context: string;
  let kernel: string;
  beforeAll(() => {
    context = join(dir, 'checkout');
    mkdirSync(join(context, 'app'), { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(context, 'app', 'main.js'), 'console.log("enclave");\n');
    kernel = join(dir, 'bzImage');
    writeFileSync(kernel, Buffer.alloc(4096, 7));
  });
  const blobs = () => ['--blobs', BLOBS, '--kernel', kernel];

  it('builds the image, writes our own EIF, pcrs.json and a client policy.json, and prints the PCRs', async () => {
    const out = join(dir, 'out1');
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    const r = await cloister(
      'build',
      '--tag',
      'acme/enclave:1',
      '--out',
      out,
      '--context',
      context,
      ...blobs(),
      '--network',
      'none',
      '--docker-build-arg',
      `BASE_IMAGE=${PINNED}`,
    );
    expect(r.stderr).not.toMatch(/stand-in:/);
    expect(r.status).toBe(0);

    const calls = readLog(log);
    expect(calls.map((c) => c.argv.slice(0, 2).join(' '))).toEqual(['build --tag', 'image inspect', 'create --network', `export --output`, `rm --force`]);
    expect(calls[0]!.argv).toEqual([
      'build',
      '--tag',
      'acme/enclave:1',
      '--file',
      join(context, 'Dockerfile'),
      '--network',
      'none',
      '--build-arg',
      'SOURCE_DATE_EPOCH=1700000000',
      '--build-arg',
      `BASE_IMAGE=${PINNED}`,
      context,
    ]);
    // Whatever builder the host has: cloister build does not force BuildKit (which needs buildx on new docker CLIs).
    expect(calls.every((c) => c.tool !== 'nitro-cli')).toBe(true);

    const pcrs = JSON.parse(readFileSync(join(out, 'pcrs.json'), 'utf8'));
    expect(pcrs).toEqual(readEif(join(out, 'cloister.eif')).pcrs);
    expect(Object.keys(pcrs)).toEqual(['PCR0', 'PCR1', 'PCR2']);
    const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
    expect(policy).toEqual({ root: 'aws', pcrs: { 0: [pcrs.PCR0], 1: [pcrs.PCR1], 2: [pcrs.PCR2] }, maxAgeSeconds: 300, allowDebug: false });
    expect(loadPolicy(join(out, 'policy.json')).allowDebug).toBe(false);
    expect(r.stdout).toContain(pcrs.PCR0);
    expect(r.stdout).toMatch(/pins no configuration/);

    const shown = await cloister('pcrs', join(out, 'cloister.eif'), '--json');
    expect(shown.status).toBe(0);
    expect(shown.stdout).toBe(readFileSync(join(out, 'pcrs.json'), 'utf8'));
  });

  it('gives the same EIF, byte for byte, for the same sources in another folder; another PCR2 when one byte changes', async () => {
    const copy = join(dir, 'elsewhere', 'checkout');
    cpSync(context, copy, { recursive: true });
    const a = await cloister('build', '--out', join(dir, 'same-a'), '--context', context, ...blobs());
    const b = await cloister('build', '--out', join(dir, 'same-b'), '--context', copy, ...blobs());
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(readFileSync(join(dir, 'same-a', 'cloister.eif')).equals(readFileSync(join(dir, 'same-b', 'cloister.eif')))).toBe(true);

    writeFileSync(join(copy, 'app', 'main.js'), 'console.log("enclavE");\n');
    const c = await cloister('build', '--out', join(dir, 'same-c'), '--context', copy, ...blobs());
    const [pa, pc] = [a, c].map((_, i) => JSON.parse(readFileSync(join(dir, ['same-a', 'same-c'][i]!, 'pcrs.json'), 'utf8')));
    expect(pc.PCR1).toBe(pa.PCR1);
    expect(pc.PCR2).not.toBe(pa.PCR2);
    expect(pc.PCR0).not.toBe(pa.PCR0);
  });

  it('defaults SOURCE_DATE_EPOCH to 0 and, with --config, pins the configuration digest in policy.json', async () => {
    const out = join(dir, 'out2');
    const r = await cloister('build', '--out', out, '--context', context, '--config', CONFIG, ...blobs());
    expect(r.status).toBe(0);
    const [docker] = readLog(log);
    expect(docker!.argv).toContain('SOURCE_DATE_EPOCH=0');
    expect(docker!.argv).toContain('cloister-enclave:latest');
    const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
    expect(policy.config).toBe(DIGEST);
    expect(loadPolicy(join(out, 'policy.json')).configDigest?.toString('hex')).toBe(DIGEST);
    expect(r.stdout).toContain(DIGEST);
  });

  it('exits 2 naming the blob when a boot blob or the kernel is missing, before running docker', async () => {
    const out = join(dir, 'out-blobs');
    const noKernel = await cloister('build', '--out', out, '--context', context, '--blobs', BLOBS);
    expect(noKernel.status).toBe(2);
    expect(noKernel.stderr).toMatch(/BLOB_MISSING: the kernel .*bzImage is not a readable file; pass --kernel FILE/);
    const noBlobs = await cloister('build', '--out', out, '--context', context, '--blobs', join(dir, 'nothing-here'), '--kernel', kernel);
    expect(noBlobs.status).toBe(2);
    expect(noBlobs.stderr).toMatch(/BLOB_MISSING: cannot read the Nitro boot blob .*nothing-here\/cmdline/);
    expect(readLog(log)).toEqual([]);
    expect(existsSync(join(out, 'cloister.eif'))).toBe(false);
  });

  it('exits 1 with IMAGE_NO_COMMAND for an image that runs nothing, writing nothing', async () => {
    process.env.STANDIN_NO_COMMAND = '1';
    const out = join(dir, 'out-nocmd');
    const r = await cloister('build', '--tag', 'acme/nothing:1', '--out', out, '--context', context, ...blobs());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/IMAGE_NO_COMMAND: the image acme\/nothing:1 has neither CMD nor ENTRYPOINT/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('exits 2 with a clear message when docker is not installed', async () => {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    process.env.PATH = empty;
    const noDocker = await cloister('build', '--out', join(dir, 'out3'), '--context', context, ...blobs());
    expect(noDocker.status).toBe(2);
    expect(noDocker.stderr).toMatch(/docker is not installed or not on PATH/);
    expect(existsSync(join(dir, 'out3', 'pcrs.json'))).toBe(false);
  });

  it("exits 1 with docker's own error when docker build fails, writing nothing", async () => {
    process.env.STANDIN_FAIL = 'docker';
    const docker = await cloister('build', '--out', join(dir, 'out4'), '--context', context, ...blobs());
    expect(docker.status).toBe(1);
    expect(docker.stderr).toMatch(/docker build failed \(exit 1\):\n.*failed to solve/);
    expect(readLog(log).map((c) => c.tool)).toEqual(['docker']);
    expect(readdirSync(join(dir, 'out4'))).toEqual([]);
  });

  it('with --nitro-cli, lets nitro-cli build too and reports, PCR by PCR, whether its measurements equal ours', async () => {
    const out = join(dir, 'out-nitro');
    const r = await cloister('build', '--tag', 'acme/enclave:2', '--out', out, '--context', context, ...blobs(), '--nitro-cli');
    expect(r.status).toBe(0);
    expect(readLog(log).find((c) => c.tool === 'nitro-cli')!.argv).toEqual([
      'build-enclave',
      '--docker-uri',
      'acme/enclave:2',
      '--output-file',
      join(out, 'nitro-cli.eif'),
    ]);
    expect(r.stdout).toContain(`✗ PCR2  ${STANDIN_PCRS.PCR2.toLowerCase()} (differs)`);
    expect(r.stdout).toMatch(/PCR1 differs: nitro-cli used other boot blobs/);
    expect(JSON.parse(readFileSync(join(out, 'pcrs.json'), 'utf8'))).toEqual(readEif(join(out, 'cloister.eif')).pcrs);

    const onlyDocker = join(dir, 'only-docker');
    mkdirSync(onlyDocker, { recursive: true });
    writeFileSync(join(onlyDocker, 'docker'), readFileSync(join(standins.bin, 'docker')), { mode: 0o755 });
    process.env.PATH = `${onlyDocker}${delimiter}/usr/bin${delimiter}/bin`;
    const missing = await cloister('build', '--out', join(dir, 'out-nitro2'), '--context', context, ...blobs(), '--nitro-cli');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nitro-cli is not installed or not on PATH/);
  });

  it('refuses a base image not pinned by digest and malformed build arguments (exit 2, nothing run); a local image ID is a pin', async () => {
    const unpinned = await cloister('build', '--out', join(dir, 'out5'), '--context', context, ...blobs(), '--docker-build-arg', 'BASE_IMAGE=node:20');
    expect(unpinned.status).toBe(2);
    expect(unpinned.stderr).toMatch(/not pinned by digest/);
    const build = await cloister('build', '--out', join(dir, 'out5'), '--context', context, ...blobs(), '--docker-build-arg', 'BUILD_IMAGE=node:20-bookworm');
    expect(build.status).toBe(2);
    const malformed = await cloister('build', '--out', join(dir, 'out5'), '--context', context, ...blobs(), '--docker-build-arg', 'no-equals');
    expect(malformed.status).toBe(2);
    expect(readLog(log)).toEqual([]);

    expect((await cloister('build', '--tag', 'base:local', '--out', join(dir, 'out6'), '--context', context, ...blobs())).status).toBe(0);
    rmSync(log);
    const baseId = JSON.parse(readFileSync(join(standins.env.STANDIN_STATE!, 'images.json'), 'utf8'))['base:local'].id as string;
    const local = await cloister('build', '--out', join(dir, 'out6'), '--context', context, ...blobs(), '--docker-build-arg', `BASE_IMAGE=${baseId}`);
    expect(local.status).toBe(0);
    const calls = readLog(log);
    expect(calls.find((c) => c.argv[0] === 'tag')!.argv).toEqual(['tag', baseId, `cloister-pinned:${baseId.slice(7)}`]);
    expect(calls.find((c) => c.argv[0] === 'build')!.argv).toContain(`BASE_IMAGE=cloister-pinned:${baseId.slice(7)}`);
  });
});

describe('cloister pcrs', () => {
  it('refuses a corrupted copy with exit 1 and its code, and a missing file with exit 2', async () => {
    const out = join(dir, 'pcrs-src');
    const kernel = join(dir, 'pcrs-kernel');
    writeFileSync(kernel, 'kernel');
    const context = join(dir, 'pcrs-context');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\n');
    expect((await cloister('build', '--out', out, '--context', context, '--blobs', BLOBS, '--kernel', kernel)).status).toBe(0);
    const good = await cloister('pcrs', join(out, 'cloister.eif'));
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/✓ .*cloister\.eif: EIF version 4, x86_64, 5 sections, CRC correct/);
    expect(good.stdout).toMatch(/PCR0 {2}[0-9a-f]{96}\n {2}PCR1 {2}[0-9a-f]{96}\n {2}PCR2 {2}[0-9a-f]{96}\n$/);

    const bytes = readFileSync(join(out, 'cloister.eif'));
    bytes[bytes.length - 100]! ^= 0x01;
    writeFileSync(join(dir, 'corrupt.eif'), bytes);
    const corrupt = await cloister('pcrs', join(dir, 'corrupt.eif'), '--json');
    expect(corrupt.status).toBe(1);
    expect(corrupt.stdout).toBe('');
    expect(corrupt.stderr).toMatch(/^cloister pcrs: EIF_BAD_CRC: /);

    const missing = await cloister('pcrs', join(dir, 'no.eif'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*no\.eif: ENOENT/);
  });
});

describe('cloister verify-build (against docker stand-ins)', () => {
  let source: string;
  let kernel: string;
  let pcrsJson: string | undefined;
  /** The PCRs published for `source`, built once (in a test, where the stand-ins are on PATH). */
  async function published(): Promise<string> {
    if (pcrsJson) return pcrsJson;
    source = join(dir, 'vb-source');
    mkdirSync(join(source, 'src'), { recursive: true });
    writeFileSync(join(source, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(source, 'src', 'index.js'), 'module.exports = 42;\n');
    kernel = join(dir, 'vb-kernel');
    writeFileSync(kernel, 'the kernel');
    const r = await cloister('build', '--out', join(dir, 'vb-published'), '--context', source, '--blobs', BLOBS, '--kernel', kernel);
    expect(r.status).toBe(0);
    rmSync(log);
    pcrsJson = join(dir, 'vb-published', 'pcrs.json');
    return pcrsJson;
  }
  const flags = () => ['--blobs', BLOBS, '--kernel', kernel];

  it('reports a match for a checkout against the PCRs of its own build (exit 0)', async () => {
    const pcrsJson = await published();
    const r = await cloister('verify-build', source, '--against', pcrsJson, ...flags());
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^✓ MATCH: /);
    for (const pcr of ['PCR0', 'PCR1', 'PCR2']) expect(r.stdout).toMatch(new RegExp(`✓ ${pcr}  built   [0-9a-f]{96}\\n          against [0-9a-f]{96}`));
    const json = await cloister('verify-build', source, '--against', pcrsJson, ...flags(), '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      match: true,
      rows: [
        { pcr: 'PCR0', match: true },
        { pcr: 'PCR1', match: true },
        { pcr: 'PCR2', match: true },
      ],
    });
  });

  it('reports a mismatch naming PCR2 (and PCR0) after one byte of one source file changes (exit 1)', async () => {
    const pcrsJson = await published();
    const changed = join(dir, 'vb-changed');
    cpSync(source, changed, { recursive: true });
    const file = join(changed, 'src', 'index.js');
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = '3'.charCodeAt(0);
    writeFileSync(file, bytes);
    const r = await cloister('verify-build', changed, '--against', pcrsJson, ...flags());
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^✗ MISMATCH: /);
    expect(r.stdout).toMatch(/✓ PCR1/);
    expect(r.stdout).toMatch(/✗ PCR2/);
    expect(r.stdout).toMatch(/differs: PCR0, PCR2\n$/);
  });

  it('compares with a stored attestation document after verifying it (a real Nitro document: another enclave, exit 1)', async () => {
    await published();
    const r = await cloister('verify-build', source, '--against', join(ROOT, 'tests', 'fixtures', 'nitro', 'prod-2022-10-13.cose'), ...flags());
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /✗ PCR1 {2}built {3}[0-9a-f]{96}\n {10}against bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f/,
    );
    expect(r.stdout).toMatch(/rebuild with the same --blobs\/--kernel/);
  });

  it('compares with what a running enclave attests, fetching a fresh document under the policy (match, then mismatch)', async () => {
    const pcrs = JSON.parse(readFileSync(await published(), 'utf8')) as Record<string, string>;
    const build = buildForTests();
    const devDir = join(dir, 'vb-dev');
    const enclave = startSupervisor(build.dir, [
      '--config',
      CONFIG,
      '--nsm',
      'dev',
      '--dev-dir',
      devDir,
      '--ingress',
      'tcp://127.0.0.1:0',
      '--pcr0',
      pcrs.PCR0!,
      '--pcr1',
      pcrs.PCR1!,
      '--pcr2',
      pcrs.PCR2!,
    ]);
    try {
      const ready = await enclave.ready;
      const url = `https://${ready.ingress.replace(/^tcp:\/\//, '')}`;
      const policy = join(dir, 'vb-policy.json');
      writeFileSync(policy, JSON.stringify({ root: join(devDir, 'root', 'cert.pem'), pcrs: { 0: [pcrs.PCR0] }, config: CONFIG, maxAgeSeconds: 60 }));
      const same = await cloister('verify-build', source, '--against', url, '--policy', policy, ...flags());
      expect(same.stdout).toMatch(new RegExp(`^✓ MATCH: .* builds the enclave of ${url.replace(/[.]/g, '\\.')}`));
      expect(same.status).toBe(0);

      const changed = join(dir, 'vb-changed-live');
      cpSync(source, changed, { recursive: true });
      writeFileSync(join(changed, 'src', 'index.js'), 'module.exports = 43;\n');
      const other = await cloister('verify-build', changed, '--against', url, '--policy', policy, ...flags());
      expect(other.status).toBe(1);
      expect(other.stdout).toMatch(/differs: PCR0, PCR2\n/);

      // The document must still satisfy the policy's root: under another root nothing is compared.
      writeFileSync(policy, JSON.stringify({ root: 'aws', pcrs: { 0: [pcrs.PCR0] } }));
      const untrusted = await cloister('verify-build', source, '--against', url, '--policy', policy, ...flags());
      expect(untrusted.status).toBe(1);
      expect(untrusted.stderr).toMatch(/the enclave at .* was refused: /);
      expect(untrusted.stdout).toBe('');
    } finally {
      await enclave.stop();
      build.remove();
    }
  });

  it('refuses usage errors with exit 2 before building: no --policy for a URL, an unreadable or malformed --against, no source', async () => {
    const pcrsJson = await published();
    const badJson = join(dir, 'bad-pcrs.json');
    writeFileSync(badJson, '{"PCR0": "00"}');
    const notDoc = join(dir, 'not-a-doc');
    writeFileSync(notDoc, Buffer.from([0x84, 0x40, 0xa0, 0x40, 0x40]));
    const cases: [string[], RegExp][] = [
      [[source, '--against', 'https://127.0.0.1:1'], /give --policy FILE/],
      [[source, '--against', join(dir, 'none.json')], /cannot read --against/],
      [[source, '--against', badJson], /has no PCR0 of 96 hex digits/],
      [[source, '--against', notDoc], /is not a valid attestation document/],
      [[join(dir, 'no-source'), '--against', pcrsJson], /is not a directory/],
    ];
    for (const [argv, message] of cases) {
      const r = await cloister('verify-build', ...argv, ...flags());
      expect({ argv, status: r.status }).toEqual({ argv, status: 2 });
      expect(r.stderr).toMatch(message);
    }
    expect(readLog(log)).toEqual([]);
  });
});

describe('cloister run (against nitro-cli and parent-process stand-ins)', () => {
  let build: TestBuild;
  let eif: string;
  beforeAll(() => {
    build = buildForTests();
    eif = join(dir, 'run.eif');
    writeFileSync(eif, 'EIF');
  });
  afterAll(() => build.remove());

  /** Runs the built `cloister` as its own process, as systemd would. */
  function start(...args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [join(build.dir, 'cli', 'index.js'), ...args], {
      env: { ...process.env, CLOISTER_PARENT_DIR: standins.parent },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    child.stderr!.on('data', (d) => (text += d));
    const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    return { child, output: () => text, exited };
  }

  async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log: ${JSON.stringify(readLog(log))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const started = (entries: StandInEntry[]) => entries.filter((e) => e.event === 'started');

  it('starts the enclave, then the log sink, bridge, egress relay and config push; SIGTERM stops them all and terminates the enclave', async () => {
    const run = start('run', '--eif', eif, '--config', CONFIG, '--cpus', '4', '--memory', '4096', '--cid', '21', '--port', '8443');
    await until('four parent processes', () => started(readLog(log)).length === 4);
    const entries = readLog(log);
    expect(entries[0]).toEqual({ tool: 'nitro-cli', argv: ['run-enclave', '--eif-path', eif, '--cpu-count', '4', '--memory', '4096', '--enclave-cid', '21'] });
    const argvOf = (tool: string) => entries.find((e) => e.tool === tool && e.event === 'started')?.argv;
    expect(argvOf('bridge')).toEqual(['--listen', 'tcp://0.0.0.0:8443', '--target', 'vsock://21:5000']);
    expect(argvOf('egress-relay')).toEqual(['--listen', 'vsock://3:5001', '--config', CONFIG]);
    expect(argvOf('config-push')).toEqual(['--target', 'vsock://21:5002', '--config', CONFIG]);
    expect(argvOf('log-sink')).toEqual(['--listen', 'vsock://3:5003']);
    const pids = started(entries).map((e) => e.pid!);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const after = readLog(log);
    for (const tool of ['log-sink', 'bridge', 'egress-relay', 'config-push']) {
      expect(after.filter((e) => e.tool === tool).map((e) => e.event)).toEqual(['started', 'stopped by SIGTERM']);
    }
    expect(after.at(-1)).toEqual({ tool: 'nitro-cli', argv: ['terminate-enclave', '--enclave-id', STANDIN_ENCLAVE_ID] });
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(run.output()).toContain(`enclave ${STANDIN_ENCLAVE_ID} CID 21, 4 vCPUs, 4096 MiB`);
    expect(run.output()).toContain(`digest ${DIGEST}`);
    expect(run.output()).toContain('[bridge] bridge stand-in up');
    expect(run.output()).toContain(`terminated enclave ${STANDIN_ENCLAVE_ID}`);
  });

  it('takes settings from --from (nitro-cli names too), flags winning; when one process dies, stops the others and the enclave (exit 1)', async () => {
    const from = join(dir, 'enclave.json');
    writeFileSync(from, JSON.stringify({ eif_path: eif, cpu_count: 2, memory_mib: 1024, enclave_cid: 30, config: CONFIG, port: 9443, debug_mode: true }));
    process.env.STANDIN_DIE = 'egress-relay';
    const dying = start('run', '--from', from, '--cid', '31');
    expect(await dying.exited).toBe(1);
    const entries = readLog(log);
    expect(entries[0]!.argv).toEqual(['run-enclave', '--eif-path', eif, '--cpu-count', '2', '--memory', '1024', '--enclave-cid', '31', '--debug-mode']);
    expect(entries.find((e) => e.tool === 'bridge')!.argv).toEqual(['--listen', 'tcp://0.0.0.0:9443', '--target', 'vsock://31:5000']);
    expect(entries.filter((e) => e.tool === 'egress-relay').map((e) => e.event)).toEqual(['started', 'died']);
    expect(entries.filter((e) => e.tool === 'bridge').map((e) => e.event)).toEqual(['started', 'stopped by SIGTERM']);
    expect(entries.filter((e) => e.tool === 'config-push').map((e) => e.event)).toEqual(['started', 'stopped by SIGTERM']);
    expect(entries.at(-1)).toEqual({ tool: 'nitro-cli', argv: ['terminate-enclave', '--enclave-id', STANDIN_ENCLAVE_ID] });
    expect(dying.output()).toMatch(/egress-relay stopped by itself \(exit 3\)/);
    expect(dying.output()).toMatch(/WARNING: debug mode/);
  });

  it("exits 1 with nitro-cli's error when run-enclave fails, starting nothing; 2 when nitro-cli is missing", async () => {
    process.env.STANDIN_FAIL = 'run-enclave';
    const failed = start('run', '--eif', eif, '--config', CONFIG, '--memory', '64');
    expect(await failed.exited).toBe(1);
    expect(failed.output()).toMatch(/nitro-cli run-enclave failed \(exit 1\):\n.*E26/);
    expect(readLog(log).map((e) => e.tool)).toEqual(['nitro-cli']);
    delete process.env.STANDIN_FAIL;

    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    process.env.PATH = empty;
    const missing = start('run', '--eif', eif, '--config', CONFIG);
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toMatch(/nitro-cli is not installed or not on PATH/);
  });

  it('refuses bad settings before starting anything (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['run', '--config', CONFIG], /--eif FILE is required/],
      [['run', '--eif', eif], /--config FILE is required/],
      [['run', '--eif', join(dir, 'nope.eif'), '--config', CONFIG], /no such file/],
      [['run', '--eif', eif, '--config', CONFIG, '--cpus', 'two'], /--cpus two is not a whole number/],
      [['run', '--eif', eif, '--config', CONFIG, '--cid', '2'], /--cid 2 is not a whole number from 4/],
      [['run', '--eif', eif, '--config', CONFIG, '--port', '70000'], /--port 70000/],
      [['run', '--eif', eif, '--config', join(dir, 'missing.json')], /missing\.json/],
    ];
    const from = join(dir, 'bad-from.json');
    writeFileSync(from, JSON.stringify({ eif, cores: 3 }));
    cases.push([['run', '--from', from, '--config', CONFIG], /unknown key "cores"/]);
    for (const [argv, message] of cases) {
      const r = await cloister(...argv);
      expect({ argv, status: r.status }).toEqual({ argv, status: 2 });
      expect(r.stderr).toMatch(message);
    }
    expect(readLog(log)).toEqual([]);
  });
});
