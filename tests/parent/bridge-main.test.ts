import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from '../../parent/bridge/main';
import { scratchDir } from '../helpers/network-harness';
import { type TestBuild, buildForTests } from '../enclave/support/build';

/** `node dist/parent/bridge/main.js` as the parent instance runs it, from a build made for tests (so commander resolves). */
let build: TestBuild;
let scratch: ReturnType<typeof scratchDir>;
let main: string;

beforeAll(() => {
  build = buildForTests();
  scratch = scratchDir();
  main = join(build.dir, 'parent', 'bridge', 'main.js');
});
afterAll(() => {
  build.remove();
  scratch.remove();
});

function run(args: string[]): { child: ChildProcess; output: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  return { child, output: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

describe('bridge arguments', () => {
  it('reads --listen and --target, in either form', () => {
    expect(parseArgs(['--listen', 'tcp://127.0.0.1:8443', '--target=unix:///run/ingress.sock'])).toEqual({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 8443 },
      target: { kind: 'unix', path: '/run/ingress.sock' },
    });
  });

  it('reads the connection bound and the idle timeout', () => {
    expect(parseArgs(['--listen', 'tcp://127.0.0.1:8443', '--target', 'vsock://16:5000', '--max-connections', '64', '--idle-timeout-ms=30000'])).toEqual({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 8443 },
      target: { kind: 'vsock', cid: 16, port: 5000 },
      maxConnections: 64,
      idleTimeoutMs: 30_000,
    });
  });

  it.each([
    [[], /--listen and --target are required \(missing: --listen, --target\)/],
    [['--listen', 'tcp://127.0.0.1:1'], /required \(missing: --target\)/],
    [['--listen'], /option '--listen <address>' argument missing/],
    [['--listen=', '--target', 'unix:///x'], /option '--listen <address>' argument missing/],
    [['--listen', 'tcp://127.0.0.1:1', '--target', 'udp:x'], /tcp:\/\/HOST:PORT/],
    [['--listen', 'tcp://1.2.3.4:1', '--listen', 'tcp://1.2.3.4:2', '--target', 'unix:///x'], /given twice/],
    [['--verbose'], /unknown option '--verbose'/],
    [['--help'], /unknown option '--help'/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', 'extra'], /unexpected argument "extra"/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', '--target=unix:///y'], /--target is given twice/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', '--max-connections', '5', '--max-connections', '6'], /--max-connections is given twice/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', '--max-connections', '0'], /--max-connections must be a whole number from 1 to 1000000; got "0"/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', '--max-connections', '1e3'], /--max-connections must be a whole number/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', '--idle-timeout-ms', '-5'], /--idle-timeout-ms must be a whole number/],
    [['--listen', 'tcp://1.2.3.4:1', '--target', 'unix:///x', '--idle-timeout-ms', '86400001'], /from 1 to 86400000/],
  ])('refuses %j', (args, message) => {
    expect(() => parseArgs(args)).toThrow(message);
  });
});

describe('node dist/parent/bridge/main.js', () => {
  it('exits 2 with a message and the usage on bad arguments', async () => {
    const { code, stderr } = await run(['--listen', 'nonsense', '--target', 'unix:///x']).output;
    expect(code).toBe(2);
    expect(stderr).toMatch(/cloister bridge: .*not an address/);
    expect(stderr).toMatch(/usage: node dist\/parent\/bridge\/main.js --listen ADDRESS --target ADDRESS/);
  });

  it('exits 2 with the sentence and the usage on an unknown or repeated flag', async () => {
    const unknown = await run(['--listen', 'tcp://127.0.0.1:0', '--target', 'unix:///x', '--verbose']).output;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^cloister bridge: unknown option '--verbose'\nusage: node dist\/parent\/bridge\/main.js --listen ADDRESS/);
    const repeated = await run(['--listen', 'tcp://127.0.0.1:0', '--listen', 'tcp://127.0.0.1:1', '--target', 'unix:///x']).output;
    expect(repeated.code).toBe(2);
    expect(repeated.stderr).toMatch(/^cloister bridge: --listen is given twice\nusage: /);
  });

  it('exits 2 when it cannot listen', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    const { code, stderr } = await run(['--listen', `tcp://127.0.0.1:${port}`, '--target', 'unix:///nowhere.sock']).output;
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot listen on tcp:\/\/127.0.0.1:\d+: .*EADDRINUSE/);
    await new Promise((resolve) => busy.close(resolve));
  });

  it('forwards connections, logs where it listens, and exits 0 on SIGTERM', async () => {
    const path = join(scratch.dir, 'echo.sock');
    const echo = createServer((socket: Socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(path, resolve));
    const { child, output } = run(['--listen', 'tcp://127.0.0.1:0', '--target', `unix://${path}`]);
    const listening = await new Promise<{ listen: string }>((resolve) => {
      let text = '';
      child.stdout!.on('data', (c) => {
        text += c;
        const line = text.split('\n').find((l) => l.includes('bridge_listening'));
        if (line) resolve(JSON.parse(line));
      });
    });
    const port = Number(/:(\d+)$/.exec(listening.listen)![1]);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('ping through the bridge'));
      let text = '';
      socket.on('data', (c) => (text += c));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toBe('ping through the bridge');
    child.kill('SIGTERM');
    expect((await output).code).toBe(0);
    await new Promise((resolve) => echo.close(resolve));
  });
});
