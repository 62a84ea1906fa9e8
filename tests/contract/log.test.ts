import { createLogger, formatLogLine, withMinimumLevel } from '../../contract/log';

/** A pino logger writing into an array, one parsed line each. */
function collect(level?: 'info' | 'warn' | 'error') {
  const raw: string[] = [];
  const log = createLogger({ level, write: (line) => raw.push(line) });
  return { log, raw, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('the logger (pino behind the Logger type)', () => {
  it('writes each entry as one JSON line: level by name, ISO time, then the fields; undefined fields left out', () => {
    const { log, raw, lines } = collect();
    log({ level: 'info', event: 'request', method: 'GET', path: '/a\nb', status: 200, caller: undefined, aborted: true });
    expect(raw).toHaveLength(1);
    expect(raw[0]!.endsWith('\n')).toBe(true);
    expect(raw[0]!.slice(0, -1)).not.toContain('\n');
    const [line] = lines();
    expect(line).toEqual({ level: 'info', time: expect.any(String), event: 'request', method: 'GET', path: '/a\nb', status: 200, aborted: true });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
    expect(Object.keys(line!).slice(0, 3)).toEqual(['level', 'time', 'event']);
  });

  it('drops what is below its minimum level', () => {
    const { log, lines } = collect('warn');
    log({ level: 'info', event: 'a' });
    log({ level: 'warn', event: 'b' });
    log({ level: 'error', event: 'c' });
    expect(lines().map((l) => [l.level, l.event])).toEqual([
      ['warn', 'b'],
      ['error', 'c'],
    ]);
  });

  it('redacts every secret-looking field, whatever its value, and leaves key fingerprints alone', () => {
    const { log, raw, lines } = collect();
    const names = ['password', 'secret', 'secrets', 'token', 'apiKey', 'private_key', 'secretAccessKey', 'credentials', 'authorization', 'cookie'];
    const entry = Object.fromEntries([...names, 'plaintext', 'body'].map((name) => [name, `value-of-${name}`]));
    log({ level: 'warn', event: 'careless', key: 'sha256:abc', ...entry });
    for (const name of Object.keys(entry)) expect(raw[0]).not.toContain(`value-of-${name}`);
    expect(lines()[0]).toMatchObject({ key: 'sha256:abc', password: '[REDACTED]', body: '[REDACTED]', token: '[REDACTED]' });
  });

  it('formats a single line the same way (formatLogLine)', () => {
    const line = JSON.parse(formatLogLine({ level: 'warn', event: 'log.dropped', count: 3, secret: 'x' })) as Record<string, unknown>;
    expect(line).toEqual({ level: 'warn', time: expect.any(String), event: 'log.dropped', count: 3, secret: '[REDACTED]' });
  });

  it('withMinimumLevel passes on only entries at or above the level', () => {
    const seen: string[] = [];
    const log = withMinimumLevel('error', (e) => seen.push(e.event));
    log({ level: 'info', event: 'i' });
    log({ level: 'warn', event: 'w' });
    log({ level: 'error', event: 'e' });
    expect(seen).toEqual(['e']);
    const all = (e: { event: string }) => seen.push(e.event);
    expect(withMinimumLevel('info', all)).toBe(all);
  });
});
