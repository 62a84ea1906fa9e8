import fc from 'fast-check';
import { type LogValue, createLogger, formatLogLine } from '../../contract/log';
import { REDACTED_VALUE, TOO_DEEP, isSecretField } from '../../contract/secret-fields';

const VALUE = 'hunter2-value';

/** The entry as the logger writes it, parsed back. */
const written = (fields: Record<string, LogValue>) => JSON.parse(formatLogLine({ level: 'info', event: 'e', ...fields })) as Record<string, unknown>;

/** `word` in any mix of cases, e.g. `pAsSWord`. */
const anyCase = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

/** A field name holding a secret word, as code spells names: `dbPassword`, `x-api-key`, `CLIENT_SECRET`, `Set-Cookie`, … */
const secretName = fc
  .tuple(
    fc.constantFrom('password', 'passwd', 'passphrase', 'secret', 'token', 'api?key', 'authorization', 'cookie', 'private?key', 'credential'),
    fc.constantFrom('', '-', '_'),
    fc.constantFrom('', 'db', 'client', 'x', 'access', 'aws', 'proxy', 'set'),
    fc.constantFrom('', 'value', 's', 'id', 'hash', 'file'),
    fc.constantFrom('', '-', '_', '.'),
  )
  .chain(([word, inner, before, after, separator]) =>
    fc.tuple(anyCase(word.replace('?', inner)), anyCase(before), anyCase(after)).map(([w, b, a]) => [b, w, a].filter((part) => part !== '').join(separator)),
  );

/** `value` under `name`, below `path` (object keys and array positions), as a log field. */
function nested(path: (string | number)[], name: string, value: LogValue): LogValue {
  return path.reduceRight<LogValue>((inner, step) => (typeof step === 'number' ? [...Array<LogValue>(step).fill(0), inner] : { [step]: inner }), {
    [name]: value,
  });
}

describe('fields named like secrets', () => {
  it('are redacted whatever their case and compound, as the audit found them passing through', () => {
    const names = [
      'password',
      'Password',
      'PASSWORD',
      'Authorization',
      'accessToken',
      'dbPassword',
      'clientSecret',
      'x-api-key',
      'API_KEY',
      'private-key',
      'Set-Cookie',
      'AWS_SECRET_ACCESS_KEY',
      'Body',
      'PLAINTEXT',
    ];
    const line = written(Object.fromEntries(names.map((name) => [name, VALUE])));
    for (const name of names) expect(line[name]).toBe(REDACTED_VALUE);
  });

  it('leave the fields of ordinary metadata alone, key fingerprints included', () => {
    const fields = {
      method: 'GET',
      path: '/a',
      status: 200,
      ms: 1.5,
      caller: 'alice',
      role: 'member',
      key: 'sha256:abc',
      count: 3,
      bodyBytes: 12,
      reason: 'x',
    };
    expect(written(fields)).toEqual({ level: 'info', time: expect.any(String), event: 'e', ...fields });
    for (const name of Object.keys(fields)) expect(isSecretField(name)).toBe(false);
  });

  it('are redacted in any spelling, at any depth an entry nests them, in objects and arrays (property)', () => {
    fc.assert(
      fc.property(
        secretName,
        fc.array(fc.oneof(fc.constantFrom('app', 'entry', 'config', 'inner'), fc.integer({ min: 0, max: 2 })), { maxLength: 7 }),
        fc.oneof(fc.constant<LogValue>(VALUE), fc.constant<LogValue>({ nested: VALUE }), fc.constant<LogValue>([VALUE])),
        (name, path, value) => {
          expect(isSecretField(name)).toBe(true);
          const line = formatLogLine({ level: 'warn', event: 'careless', field: nested(path, name, value) });
          expect(line).not.toContain(VALUE);
          expect(line).toContain(REDACTED_VALUE);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('are looked for down to a bounded depth: a deep or cyclic entry costs a bounded walk and leaks nothing', () => {
    let deep: Record<string, unknown> = { password: VALUE, note: VALUE };
    for (let i = 0; i < 100_000; i++) deep = { inner: deep };
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    log({ level: 'info', event: 'deep', deep: deep as LogValue, cyclic: cyclic as LogValue });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(VALUE);
    expect(lines[0]).toContain(TOO_DEEP);
    expect((JSON.parse(lines[0]!) as { cyclic: { name: string } }).cyclic.name).toBe('a');
  });

  it("follow an object's toJSON as JSON does, and redact what it gives", () => {
    const request = { toJSON: () => ({ url: '/x', headers: { Authorization: `Bearer ${VALUE}` } }) };
    expect(written({ request: request as unknown as LogValue })).toMatchObject({ request: { url: '/x', headers: { Authorization: REDACTED_VALUE } } });
    expect(written({ at: new Date(0) as unknown as LogValue })).toMatchObject({ at: '1970-01-01T00:00:00.000Z' });
  });
});
