import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { type LogEntry, createLogger } from '../../../contract/log';
import { type AppOutputStream, followAppOutput } from '../../../enclave/logs/app-output';
import { REDACTED, SecretRedactor } from '../../../enclave/logs/secret-redactor';

/** Feeds `chunks` to followAppOutput as the app's stdout (or stderr) and resolves with the entries logged. */
async function linesOf(chunks: (string | Buffer)[], secrets: string[] = [], options: { stream?: AppOutputStream; maxLineChars?: number } = {}) {
  const output = new PassThrough();
  const entries: LogEntry[] = [];
  followAppOutput(output, {
    stream: options.stream ?? 'stdout',
    log: (e) => entries.push(e),
    secrets: new SecretRedactor(secrets),
    maxLineChars: options.maxLineChars,
  });
  const ended = new Promise((resolve) => output.on('end', resolve));
  for (const chunk of chunks) output.write(chunk);
  output.end();
  await ended;
  return entries;
}

describe("the app's output as log lines", () => {
  it('wraps each line, whatever it holds, as app.stdout (info) or app.stderr (warn), across chunk boundaries', async () => {
    expect(await linesOf(['hello\nwor', 'ld\r\n{"level":"error","event":"ready"}\n', 'last'])).toEqual([
      { level: 'info', event: 'app.stdout', line: 'hello' },
      { level: 'info', event: 'app.stdout', line: 'world' },
      { level: 'info', event: 'app.stdout', line: '{"level":"error","event":"ready"}' },
      { level: 'info', event: 'app.stdout', line: 'last' },
    ]);
    expect(await linesOf(['oops\n'], [], { stream: 'stderr' })).toEqual([{ level: 'warn', event: 'app.stderr', line: 'oops' }]);
  });

  it('keeps a character split between two chunks whole', async () => {
    const euro = Buffer.from('€\n');
    expect(await linesOf([euro.subarray(0, 1), euro.subarray(1)])).toEqual([{ level: 'info', event: 'app.stdout', line: '€' }]);
  });

  it('cuts a long line at the limit, marks it, and drops the rest of it, even when it never ends', async () => {
    const entries = await linesOf(['a'.repeat(25), 'b'.repeat(30), '\nnext\n', 'c'.repeat(1000)], [], { maxLineChars: 10 });
    expect(entries).toEqual([
      { level: 'info', event: 'app.stdout', line: 'a'.repeat(10), truncated: true },
      { level: 'info', event: 'app.stdout', line: 'next' },
      { level: 'info', event: 'app.stdout', line: 'c'.repeat(10), truncated: true },
    ]);
  });

  it('replaces every secret, split over chunks, printed in JSON, or overlapping another', async () => {
    const secrets = ['hunter2', 'pa"ss\\word', 'abcd', 'cdef'];
    const entries = await linesOf(['password is hun', 'ter2!\n', JSON.stringify({ pw: 'pa"ss\\word' }), '\n', 'xxabcdefyy hunter2hunter2\n'], secrets);
    expect(entries.map((e) => e.line)).toEqual([`password is ${REDACTED}!`, `{"pw":"${REDACTED}"}`, `xx${REDACTED}yy ${REDACTED}`]);
  });

  it('never lets any part of a secret through, wherever lines, chunks and cuts fall (property)', () => {
    // The secret's letters appear nowhere else, so any of them in the output would be a piece of it.
    return fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('s', 'e', 'c', 'r', 't') }),
        fc.array(fc.oneof(fc.constant('SECRET'), fc.string({ maxLength: 8, unit: fc.constantFrom('x', 'y', '\n', '"') })), { maxLength: 30 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 7 }),
        async (secret, parts, maxLineChars, chunkSize) => {
          const text = parts.map((p) => (p === 'SECRET' ? secret : p)).join('');
          const chunks: string[] = [];
          for (let i = 0; i < text.length; i += chunkSize) chunks.push(text.slice(i, i + chunkSize));
          const entries = await linesOf(chunks, [secret], { maxLineChars });
          for (const { line } of entries) {
            const rest = String(line).split(REDACTED).join('');
            expect(rest).toMatch(/^[xy"]*$/);
            expect(rest.length).toBeLessThanOrEqual(maxLineChars);
          }
          expect(entries.length).toBe(text.split('\n').filter((l, i, all) => i < all.length - 1 || l !== '').length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("the app's own log entries (context.log, on the module host's pipe)", () => {
  /** The lines the module host's logger writes for `entries`. */
  const written = (...entries: LogEntry[]) => {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    for (const entry of entries) log(entry);
    return lines;
  };

  it('keeps the level the app gave, and nests its event and fields under app.log', async () => {
    const lines = written(
      { level: 'error', event: 'payment.failed', code: 'E42' },
      { level: 'warn', event: 'quota.near', left: 3 },
      { level: 'info', event: 'started' },
    );
    expect(await linesOf(lines, [], { stream: 'log' })).toEqual([
      { level: 'error', event: 'app.log', entry: { event: 'payment.failed', code: 'E42' } },
      { level: 'warn', event: 'app.log', entry: { event: 'quota.near', left: 3 } },
      { level: 'info', event: 'app.log', entry: { event: 'started' } },
    ]);
  });

  it("cannot set the line's own event or fields: an entry claiming to be the supervisor's stays the app's", async () => {
    const forged = '{"level":"info","event":"ready","config":"00","entry":"x","line":"y"}\n';
    expect(await linesOf([forged], [], { stream: 'log' })).toEqual([
      { level: 'info', event: 'app.log', entry: { event: 'ready', config: '00', entry: 'x', line: 'y' } },
    ]);
  });

  it('takes the secrets out of every string of an entry, names and unusual JSON escapes included', async () => {
    const lines = ['{"level":"warn","event":"db","url":"postgres://app:\\u0068unter2@db","hunter2":{"list":["a hunter2"]}}\n'];
    expect(await linesOf(lines, ['hunter2'], { stream: 'log' })).toEqual([
      { level: 'warn', event: 'app.log', entry: { event: 'db', url: `postgres://app:${REDACTED}@db`, [REDACTED]: { list: [`a ${REDACTED}`] } } },
    ]);
  });

  it('logs what is not an entry (not JSON, no known level, too long) as a plain app.log line at info', async () => {
    const entries = await linesOf(['not json\n', '{"level":"fatal","event":"x"}\n', '[1]\n', `{"level":"error","event":"${'x'.repeat(40)}"}\n`], [], {
      stream: 'log',
      maxLineChars: 30,
    });
    expect(entries.map((e) => [e.level, e.event, e.line, e.truncated])).toEqual([
      ['info', 'app.log', 'not json', undefined],
      ['info', 'app.log', '{"level":"fatal","event":"x"}', undefined],
      ['info', 'app.log', '[1]', undefined],
      ['info', 'app.log', '{"level":"error","event":"xxxx', true],
    ]);
  });
});

describe('SecretRedactor', () => {
  it('finds overlapping occurrences of one secret and merges touching spans', () => {
    const redactor = new SecretRedactor(['aa', '']);
    expect(redactor.spans('xaaay')).toEqual([[1, 4]]);
    expect(redactor.redact('xaaay')).toBe(`x${REDACTED}y`);
    expect(new SecretRedactor([]).redact('anything')).toBe('anything');
    expect(new SecretRedactor([]).longest).toBe(0);
  });
});
