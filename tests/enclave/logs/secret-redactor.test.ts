import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import type { LogEntry } from '../../../contract/log';
import { followAppOutput } from '../../../enclave/logs/app-output';
import { REDACTED, SecretRedactor } from '../../../enclave/logs/secret-redactor';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw\nggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R\n-----END PRIVATE KEY-----\n';

/** The lines the app's stdout `text` becomes, cut into chunks of `chunkSize`, with `secrets` taken out. */
async function printed(text: string, secrets: string[], options: { chunkSize?: number; maxLineChars?: number } = {}): Promise<string[]> {
  const output = new PassThrough();
  const entries: LogEntry[] = [];
  followAppOutput(output, { stream: 'stdout', log: (e) => entries.push(e), secrets: new SecretRedactor(secrets), maxLineChars: options.maxLineChars });
  const ended = new Promise((resolve) => output.on('end', resolve));
  const size = options.chunkSize ?? text.length;
  for (let i = 0; i < text.length; i += size) output.write(text.slice(i, i + size));
  output.end();
  await ended;
  return entries.map((e) => String(e.line));
}

/**
 * What must never leave in the clear, by the contract of SecretRedactor: the lines of a secret that
 * are secret on their own (trimmed, 8 characters or more, not PEM armour), and a one-line secret
 * whatever its length.
 */
function mustNotLeak(secret: string): string[] {
  const lines = secret
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 8 && !/^-----(BEGIN|END) [^-]+-----$/.test(line));
  const trimmed = secret.trim();
  return trimmed !== '' && !/[\r\n]/.test(trimmed) ? [...lines, trimmed] : lines;
}

describe('SecretRedactor with secrets that hold line breaks', () => {
  it('takes out a secret with a trailing newline (echo … | aws kms encrypt) wherever the app prints it', async () => {
    const token = 'sk_live_ABCDEF123\n';
    expect(await printed(`token=${token}`, [token])).toEqual([`token=${REDACTED}`]);
    expect(await printed(`${JSON.stringify({ token })}\n`, [token])).toEqual([`{"token":"${REDACTED}"}`]);
  });

  it("takes out each line of a PEM key's body, and leaves its armour", async () => {
    expect(await printed(PEM, [PEM], { chunkSize: 7 })).toEqual(['-----BEGIN PRIVATE KEY-----', REDACTED, REDACTED, '-----END PRIVATE KEY-----']);
    expect(await printed(`key: ${JSON.stringify(PEM)}\n`, [PEM])).toEqual([`key: "${REDACTED}"`]);
  });

  it('takes a multi-line secret out whole from text that was not cut into lines (an error message)', () => {
    const redactor = new SecretRedactor([PEM]);
    expect(redactor.redact(`bad key ${PEM} given`)).toBe(`bad key ${REDACTED} given`);
    expect(redactor.redact('x\n}\nyes')).toBe('x\n}\nyes');
  });

  it('ignores lines of a multi-line secret too short to be secret on their own', () => {
    const redactor = new SecretRedactor(['{\n  "k": 1\n}\nlongenough\n']);
    expect(redactor.redact('{ } "k": 1')).toBe('{ } "k": 1');
    expect(redactor.redact('is longenough')).toBe(`is ${REDACTED}`);
  });

  it('never lets a line of any secret through, however it is printed, chunked and cut (property)', () => {
    // No letter of REDACTED in a secret's lines, so a replacement can never complete one.
    const secretLine = fc.string({ maxLength: 24, unit: fc.constantFrom('a', 'b', 'k', 'z', '0', '9', '/', '+', '=', ' ', '\t', '"', '\\') });
    const secret = fc
      .tuple(fc.array(secretLine, { minLength: 1, maxLength: 5 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean())
      .map(([lines, eol, pem, trailing]) => {
        const body = (pem ? ['-----BEGIN RSA PRIVATE KEY-----', ...lines, '-----END RSA PRIVATE KEY-----'] : lines).join(eol);
        return trailing ? body + eol : body;
      })
      .filter((s) => s.trim() !== '');
    const filler = fc.string({ maxLength: 10, unit: fc.constantFrom('x', 'y', 'a', ' ', '\n', '"') });
    return fc.assert(
      fc.asyncProperty(
        secret,
        fc.array(fc.oneof(fc.constant('RAW'), fc.constant('JSON'), filler), { maxLength: 12 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 8, max: 60 }),
        async (value, parts, chunkSize, maxLineChars) => {
          const text = parts.map((p) => (p === 'RAW' ? value : p === 'JSON' ? JSON.stringify(value) : p)).join('');
          const lines = await printed(text, [value], { chunkSize, maxLineChars });
          for (const line of lines) for (const secretPart of mustNotLeak(value)) expect(line).not.toContain(secretPart);
        },
      ),
      { numRuns: 400 },
    );
  });
});
