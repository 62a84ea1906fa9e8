import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadPolicy } from '../../client';
import { loadConfigFile } from '../../enclave/config/load-config';
import { type TestBuild, buildForTests } from '../enclave/support/build';
import { STANDIN_ENCLAVE_ID, STANDIN_PCRS, type StandInEntry, readLog, writeStandIns } from './build-run-standins';
import { cloister } from './run';

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
});
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

const lower = (pcrs: Record<string, string>) => Object.fromEntries(Object.entries(pcrs).map(([k, v]) => [k, v.toLowerCase()]));

describe('cloister build (against docker and nitro-cli stand-ins)', () => {
  it('runs docker build and nitro-cli build-enclave, and writes cloister.eif, pcrs.json and a client policy.json', async () => {
    const out = join(dir, 'out1');
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    const r = await cloister('build', '--tag', 'acme/enclave:1', '--out', out, '--context', ROOT, '--docker-build-arg', `BASE_IMAGE=${PINNED}`, '--docker-build-arg', 'NPM_FLAGS=--foo');
    expect(r.stderr).not.toMatch(/stand-in:/);
    expect(r.status).toBe(0);

    const calls = readLog(log);
    expect(calls.map((c) => c.tool)).toEqual(['docker', 'nitro-cli']);
    expect(calls[0]!.argv).toEqual([
      'build', '--tag', 'acme/enclave:1', '--file', join(ROOT, 'Dockerfile'),
      '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '--build-arg', `BASE_IMAGE=${PINNED}`, '--build-arg', 'NPM_FLAGS=--foo', ROOT,
    ]);
    expect(calls[0]!.env).toEqual({ SOURCE_DATE_EPOCH: '1700000000' });
    expect(calls[1]!.argv).toEqual(['build-enclave', '--docker-uri', 'acme/enclave:1', '--output-file', join(out, 'cloister.eif')]);

    expect(readFileSync(join(out, 'cloister.eif'), 'utf8')).toBe('EIF stand-in for acme/enclave:1\n');
    expect(JSON.parse(readFileSync(join(out, 'pcrs.json'), 'utf8'))).toEqual(lower(STANDIN_PCRS));
    const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
    expect(policy).toEqual({
      root: 'aws',
      pcrs: { 0: [STANDIN_PCRS.PCR0.toLowerCase()], 1: [STANDIN_PCRS.PCR1.toLowerCase()], 2: [STANDIN_PCRS.PCR2.toLowerCase()] },
      maxAgeSeconds: 300,
      allowDebug: false,
    });
    // The written policy is one the client library accepts as it is.
    const loaded = loadPolicy(join(out, 'policy.json'));
    expect(loaded.allowDebug).toBe(false);
    expect(r.stdout).toContain(join(out, 'pcrs.json'));
    expect(r.stdout).toContain(join(out, 'policy.json'));
    expect(r.stdout).toContain(STANDIN_PCRS.PCR0.toLowerCase());
    expect(r.stdout).toMatch(/pins no configuration/);
  });

  it('defaults SOURCE_DATE_EPOCH to 0 and, with --config, pins the configuration digest in policy.json', async () => {
    const out = join(dir, 'out2');
    const r = await cloister('build', '--out', out, '--context', ROOT, '--config', CONFIG);
    expect(r.status).toBe(0);
    const [docker] = readLog(log);
    expect(docker!.argv).toContain('SOURCE_DATE_EPOCH=0');
    expect(docker!.argv).toContain('cloister-enclave:latest');
    const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
    expect(policy.config).toBe(DIGEST);
    expect(loadPolicy(join(out, 'policy.json')).configDigest?.toString('hex')).toBe(DIGEST);
    expect(r.stdout).toContain(DIGEST);
  });

  it('exits 2 with a clear message when docker or nitro-cli is not installed', async () => {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    process.env.PATH = empty;
    const noDocker = await cloister('build', '--out', join(dir, 'out3'), '--context', ROOT);
    expect(noDocker.status).toBe(2);
    expect(noDocker.stderr).toMatch(/docker is not installed or not on PATH/);

    const onlyDocker = join(dir, 'only-docker');
    mkdirSync(onlyDocker, { recursive: true });
    writeFileSync(join(onlyDocker, 'docker'), readFileSync(join(standins.bin, 'docker')), { mode: 0o755 });
    process.env.PATH = onlyDocker;
    const noNitro = await cloister('build', '--out', join(dir, 'out3'), '--context', ROOT);
    expect(noNitro.status).toBe(2);
    expect(noNitro.stderr).toMatch(/nitro-cli is not installed or not on PATH/);
    expect(existsSync(join(dir, 'out3', 'pcrs.json'))).toBe(false);
  });

  it('exits 1 with the tool\'s own error when docker build or nitro-cli build-enclave fails, writing nothing', async () => {
    process.env.STANDIN_FAIL = 'docker';
    const docker = await cloister('build', '--out', join(dir, 'out4'), '--context', ROOT);
    expect(docker.status).toBe(1);
    expect(docker.stderr).toMatch(/docker build failed \(exit 1\):\n.*failed to solve/);
    expect(readLog(log).map((c) => c.tool)).toEqual(['docker']);

    process.env.STANDIN_FAIL = 'build-enclave';
    const nitro = await cloister('build', '--out', join(dir, 'out4'), '--context', ROOT);
    expect(nitro.status).toBe(1);
    expect(nitro.stderr).toMatch(/nitro-cli build-enclave failed \(exit 1\):\n.*E26/);
    expect(existsSync(join(dir, 'out4', 'pcrs.json'))).toBe(false);
    expect(existsSync(join(dir, 'out4', 'policy.json'))).toBe(false);
  });

  it('refuses a base image not pinned by digest and malformed build arguments (exit 2, nothing run)', async () => {
    const unpinned = await cloister('build', '--out', join(dir, 'out5'), '--context', ROOT, '--docker-build-arg', 'BASE_IMAGE=node:20');
    expect(unpinned.status).toBe(2);
    expect(unpinned.stderr).toMatch(/not pinned by digest/);
    const malformed = await cloister('build', '--out', join(dir, 'out5'), '--context', ROOT, '--docker-build-arg', 'no-equals');
    expect(malformed.status).toBe(2);
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
      env: { ...process.env, CLOISTER_PROXY_DIR: standins.proxy },
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
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('starts the enclave, then the bridge, egress relay and config push; SIGTERM stops them all and terminates the enclave', async () => {
    const run = start('run', '--eif', eif, '--config', CONFIG, '--cpus', '4', '--memory', '4096', '--cid', '21', '--port', '8443');
    await until('three parent processes', () => started(readLog(log)).length === 3);
    const entries = readLog(log);
    expect(entries[0]).toEqual({ tool: 'nitro-cli', argv: ['run-enclave', '--eif-path', eif, '--cpu-count', '4', '--memory', '4096', '--enclave-cid', '21'] });
    const argvOf = (tool: string) => entries.find((e) => e.tool === tool && e.event === 'started')?.argv;
    expect(argvOf('bridge')).toEqual(['--listen', 'tcp://0.0.0.0:8443', '--target', 'vsock://21:5000']);
    expect(argvOf('egress-relay')).toEqual(['--listen', 'vsock://3:5001', '--config', CONFIG]);
    expect(argvOf('config-push')).toEqual(['--target', 'vsock://21:5002', '--config', CONFIG]);
    const pids = started(entries).map((e) => e.pid!);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const after = readLog(log);
    for (const tool of ['bridge', 'egress-relay', 'config-push']) {
      expect(after.filter((e) => e.tool === tool).map((e) => e.event)).toEqual(['started', 'stopped by SIGTERM']);
    }
    expect(after.at(-1)).toEqual({ tool: 'nitro-cli', argv: ['terminate-enclave', '--enclave-id', STANDIN_ENCLAVE_ID] });
    for (const pid of pids) expect(alive(pid)).toBe(false);
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

  it('exits 1 with nitro-cli\'s error when run-enclave fails, starting nothing; 2 when nitro-cli is missing', async () => {
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
