import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { batchedOutput } from '../../../enclave/logs/batched-output';
import { type TestBuild, buildForTests } from '../support/build';

/** An output that records each write it is given. */
function recorder(): { output: Writable; writes: string[] } {
  const writes: string[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { output, writes };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the app’s batched log output', () => {
  it('writes the lines of one delay at once, in order, and no line later than the delay', async () => {
    const { output, writes } = recorder();
    const write = batchedOutput(100, output);
    for (let i = 0; i < 5; i++) write(`line ${i}\n`);
    await sleep(20);
    expect(writes).toEqual([]);
    await sleep(150);
    expect(writes).toEqual(['line 0\nline 1\nline 2\nline 3\nline 4\n']);
    write('later\n');
    await sleep(150);
    expect(writes).toEqual(['line 0\nline 1\nline 2\nline 3\nline 4\n', 'later\n']);
  });

  it('writes at once when 64 KiB are gathered, so memory stays bounded whatever the app logs', () => {
    const { output, writes } = recorder();
    const write = batchedOutput(60_000, output);
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i++) write(line);
    expect(writes.join('')).toBe(line.repeat(64));
  });

  describe('when the process ends', () => {
    let build: TestBuild;
    beforeAll(() => (build = buildForTests()));
    afterAll(() => build.remove());

    const run = (ending: string) => {
      const script = `const write = require(${JSON.stringify(join(build.dir, 'enclave', 'logs', 'batched-output.js'))}).batchedOutput(60000);
write('first\\n'); write('second\\n'); ${ending}`;
      return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    };

    it('loses no gathered line when the app calls process.exit', () => {
      const result = run('process.exit(3);');
      expect(result.status).toBe(3);
      expect(result.stdout).toBe('first\nsecond\n');
    });

    it('loses no gathered line when the app throws', () => {
      const result = run("setImmediate(() => { throw new Error('boom'); });");
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('first\nsecond\n');
      expect(result.stderr).toContain('boom');
    });

    it("loses no line written to the module host's own pipe, past what the pipe holds, when the app calls process.exit", async () => {
      const modules = join(build.dir, 'enclave', 'logs');
      const script = `const { batchedOutput } = require(${JSON.stringify(join(modules, 'batched-output.js'))});
const { pipeOutput } = require(${JSON.stringify(join(modules, 'pipe-output.js'))});
const write = batchedOutput(60000, pipeOutput(3));
for (let i = 0; i < 100; i++) write(i + ' ' + 'x'.repeat(4000) + '\\n');
process.exit(0);`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
      let received = '';
      (child.stdio[3] as Readable).setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
      await new Promise((resolve) => child.stdio[3]!.on('end', resolve));
      const lines = received.split('\n').filter((line) => line !== '');
      expect(lines.map((line) => Number(line.split(' ')[0]))).toEqual([...Array(100).keys()]);
    });
  });
});
