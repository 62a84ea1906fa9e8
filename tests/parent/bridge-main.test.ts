import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { type Socket, connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { parseArgs } from '../../parent/bridge/main';
import { scratchDir } from '../helpers/network-harness';

/**
 * `node dist/parent/bridge/main.js` as the parent instance runs it. The bridge and what it imports
 * use only Node's own modules, so transpiling parent/bridge, transport/, contract/log and
 * parent/read-flags is a complete build of it.
 */
const ROOT = join(__dirname, '..', '..');
let scratch: ReturnType<typeof scratchDir>;
let main: string;

beforeAll(() => {
  scratch = scratchDir();
  const files = [
    ...readdirSync(join(ROOT, 'parent', 'bridge')).map((f) => join('parent', 'bridge', f)),
    ...readdirSync(join(ROOT, 'transport')).map((f) => join('transport', f)),
    join('contract', 'log.ts'),
    join('parent', 'read-flags.ts'),
    join('contract', 'find-addon.ts'),
  ].filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(join(ROOT, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const out = join(scratch.dir, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  main = join(scratch.dir, 'parent', 'bridge', 'main.js');
});
afterAll(() => scratch.remove());

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
    [['--listen'], /--listen needs a value/],
    [['--listen', 'tcp://127.0.0.1:1', '--target', 'udp:x'], /tcp:\/\/HOST:PORT/],
    [['--listen', 'tcp://1.2.3.4:1', '--listen', 'tcp://1.2.3.4:2', '--target', 'unix:///x'], /given twice/],
    [['--verbose'], /unknown argument "--verbose"/],
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
