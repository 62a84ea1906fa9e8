import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CompactJWSHeaderParameters, CompactSign, decodeProtectedHeader, importJWK } from 'jose';
import type { DevNsm } from '../../attestation/dev';
import { type ResultClaims, type ResultsKeyMaterial, createResultSigner } from '../../contract/signed-result';
import { createResultsKey } from '../../enclave/results-key';
import { CONFIG_DIGEST, bootNsm, goodPolicyJson } from '../client/fake-enclave';
import { type TestBuild, buildForTests } from '../enclave/support/build';
import { hasControlCharacters } from '../helpers/control-characters';
import { cloister } from './run';

const CLAIMS = { app: 'psi', resource: 'session-7', participants: ['alice', 'bob'], result: { size: 3 } };

let dir: string;
let nsm: DevNsm;
let policy: string;
let key: ResultsKeyMaterial;
let jws: string;
let otherDocument: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-verify-result-cli-'));
  nsm = await bootNsm(join(dir, 'dev'));
  policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(goodPolicyJson(nsm)));
  const boot = () => createResultsKey(nsm, { config: CONFIG_DIGEST, instance: randomBytes(16), tlsSpki: randomBytes(91) });
  const [first, other] = [await boot(), await boot()];
  key = first.material;
  jws = await createResultSigner(key).sign(CLAIMS);
  otherDocument = join(dir, 'other.cbor');
  writeFileSync(otherDocument, Buffer.from(other.material.attestation!, 'base64url'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` to a new file in the test directory and returns its path. */
function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A result the instance signs whose payload is `payloadText` exactly, as no signer of ours writes it. */
async function signRaw(payloadText: string): Promise<string> {
  const header = decodeProtectedHeader(jws) as CompactJWSHeaderParameters;
  return new CompactSign(Buffer.from(payloadText)).setProtectedHeader(header).sign(await importJWK(key.privateJwk, 'ES384'));
}

/** `jws` with its (unsigned) header replaced by `header`, given as JSON text. */
const withHeaderText = (text: string) => [Buffer.from(text).toString('base64url'), ...jws.split('.').slice(1)].join('.');

/** A PSI answer as the app serves it: the intersection beside a JWS signing its size and SHA-256. */
async function psiResponse(intersection: string[]): Promise<string> {
  const intersectionSha256 = createHash('sha256').update(JSON.stringify({ intersection })).digest('hex');
  const signed = await createResultSigner(key).sign({ ...CLAIMS, result: { size: intersection.length, intersectionSha256 } });
  return JSON.stringify({ intersection, jws: signed });
}

describe('cloister verify-result', () => {
  it('verifies a JWS given on the command line: exit 0 and what the enclave signed', async () => {
    const { status, stdout } = await cloister('verify-result', jws, '--policy', policy);
    expect(status).toBe(0);
    expect(stdout).toContain('✓ VERIFIED signed result');
    expect(stdout).toContain('result       {"size":3}');
    expect(stdout).toContain('participants alice, bob');
  });

  it('reads the JWS from a file, or from a saved JSON response with a "jws" field, and reports JSON', async () => {
    for (const source of [file('result.jws', `${jws}\n`), file('response.json', JSON.stringify({ size: 3, jws }))]) {
      const { status, stdout } = await cloister('verify-result', source, '--policy', policy, '--json');
      expect(status).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ valid: true, app: 'psi', resource: 'session-7', result: { size: 3 }, config: CONFIG_DIGEST.toString('hex') });
    }
  });

  it('refuses with exit 1 and the code: a document of another instance, a changed result', async () => {
    const other = await cloister('verify-result', jws, '--policy', policy, '--document', otherDocument, '--json');
    expect(other.status).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({ valid: false, code: 'KEY_NOT_ATTESTED', result: null });

    const [header, payload, signature] = jws.split('.');
    const changed = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('"size":3', '"size":4')).toString('base64url');
    const tampered = await cloister('verify-result', `${header}.${changed}.${signature}`, '--policy', policy);
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toContain('✗ REFUSED: BAD_SIGNATURE');
  });

  it('answers bad input with exit 2 and a sentence: no such file, no policy, JSON without jws', async () => {
    const missing = await cloister('verify-result', join(dir, 'nope.jws'), '--policy', policy);
    expect(missing).toMatchObject({ status: 2, stderr: expect.stringContaining('is neither a file nor a compact JWS') });
    expect((await cloister('verify-result', jws)).status).toBe(2);
    expect(await cloister('verify-result', file('no-jws.json', '{"size": 3}'), '--policy', policy)).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('without a "jws"'),
    });
    expect((await cloister('verify-result', jws, '--policy', join(dir, 'missing-policy.json'))).status).toBe(2);
  });
});

describe('input that holds no JWS at all is bad input (exit 2), wherever it comes from', () => {
  it.each([
    ['hello on the command line', () => 'hello', /"hello" is neither a file nor a compact JWS/],
    ['a file holding hello', () => file('hello.txt', 'hello\n'), /hello\.txt holds neither a compact JWS nor a JSON response .*"hello"/],
    ['an empty file', () => file('empty.txt', ''), /empty\.txt is empty/],
    ['a file of white space', () => file('blank.txt', ' \n\t\n'), /blank\.txt is empty/],
    ['a JSON array', () => file('array.json', '[1]'), /array\.json holds neither .*"\[1\]"/],
    ['a response whose "jws" is no JWS', () => file('hello.json', '{"jws": "hello"}'), /The "jws" field of .*hello\.json is not a compact JWS/],
    ['a response whose "jws" is no string', () => file('number.json', '{"jws": [1]}'), /without a "jws" string field/],
    ['a response with two "jws" fields', () => file('two.json', JSON.stringify({ jws }).replace('{', `{"jws":"${jws}",`)), /has two "jws" fields/],
    [
      'a response with two "intersection" fields',
      () => file('two-lists.json', `{"intersection":["fig"],"intersection":["pear"],"jws":"${jws}"}`),
      /has two "intersection" fields/,
    ],
    ['a response that is not JSON', () => file('broken.json', '{"jws": \u001b[2J'), /broken\.json starts like a JSON response but is not JSON/],
  ])('%s', async (_, source, message) => {
    const { status, stdout, stderr } = await cloister('verify-result', source(), '--policy', policy);
    expect({ status, stdout }).toEqual({ status: 2, stdout: '' });
    expect(stderr).toMatch(message);
  });

  it('still refuses a compact JWS that is no Cloister result, with exit 1: BAD_JWS', async () => {
    const [, payload, signature] = jws.split('.');
    const { status, stdout } = await cloister(
      'verify-result',
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.${signature}`,
      '--policy',
      policy,
    );
    expect(status).toBe(1);
    expect(stdout).toContain('✗ REFUSED: BAD_JWS');
  });

  it('trims a JWS on the command line as it trims one in a file, and quotes little of a long bad one', async () => {
    expect((await cloister('verify-result', `  ${jws}\n`, '--policy', policy)).status).toBe(0);
    const { status, stderr } = await cloister('verify-result', `${jws} and more`, '--policy', policy);
    expect(status).toBe(2);
    expect(stderr).toMatch(/^cloister: "eyJ[\w-]{37}…" \(\d+ characters\) is neither a file nor a compact JWS\.\n$/);
  });

  it('says that standard input is the JWS when --document - asks for it too', async () => {
    const { status, stderr } = await cloister('verify-result', '-', '--policy', policy, '--document', '-');
    expect(status).toBe(2);
    expect(stderr).toContain('--document -: standard input is where the JWS is read from');
  });
});

describe('what the CLI prints of its input cannot draw on the terminal', () => {
  const FAKE = '\u001b[2J\u001b[H✓ VERIFIED signed result\n\n  app          millionaire\n  result       {"richest":["mallory"]}\n\u001b[8m';

  it('escapes unknown header field names in a refusal, text and JSON', async () => {
    const forged = withHeaderText(JSON.stringify({ ...decodeProtectedHeader(jws), [FAKE]: 1 }));
    for (const json of [false, true]) {
      const { status, stdout } = await cloister('verify-result', forged, '--policy', policy, ...(json ? ['--json'] : []));
      expect(status).toBe(1);
      expect(hasControlCharacters(stdout.replace(/\n/g, ''))).toBe(false);
      expect(stdout.match(/✓ VERIFIED/g)).toHaveLength(1); // inside the escaped, quoted name only
      const message = json ? (JSON.parse(stdout) as { message: string }).message : stdout;
      expect(message).toContain('\\u001b[2J\\u001b[H✓ VERIFIED signed result\\u000a');
    }
  });

  it('refuses a header whose typ or alg is nested past the stack’s depth with exit 1, BAD_JWS', async () => {
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    for (const field of ['typ', 'alg']) {
      const forged = withHeaderText(JSON.stringify({ ...decodeProtectedHeader(jws), [field]: 0 }).replace(`"${field}":0`, `"${field}":${deep}`));
      const { status, stdout } = await cloister('verify-result', forged, '--policy', policy);
      expect({ status, stdout }).toEqual({ status: 1, stdout: expect.stringMatching(/✗ REFUSED: BAD_JWS\n\n .*an array, not/) });
    }
  });

  it('escapes what a verified result says, in text and in JSON', async () => {
    const signed = await createResultSigner(key).sign({ app: FAKE, resource: 'r\u009b31m', participants: ['a\u202eb'], result: { note: '\u009b[2J\u2028' } });
    const text = await cloister('verify-result', signed, '--policy', policy);
    expect(text.status).toBe(0);
    expect(text.stdout.match(/✓ VERIFIED/g)).toHaveLength(2);
    expect(text.stdout).toContain('  app          \\u001b[2J\\u001b[H✓ VERIFIED signed result\\u000a\\u000a  app');
    // No line added: the name's line breaks are escaped, not written.
    const plain = await cloister('verify-result', jws, '--policy', policy);
    expect(text.stdout.split('\n')).toHaveLength(plain.stdout.split('\n').length);
    const json = await cloister('verify-result', signed, '--policy', policy, '--json');
    expect(hasControlCharacters(json.stdout.replace(/\n/g, ''))).toBe(false);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      app: FAKE,
      resource: 'r\u009b31m',
      participants: ['a\u202eb'],
      result: { note: '\u009b[2J\u2028' },
    });
  });

  it('escapes what a parser quotes from a bad policy file on standard error', async () => {
    const { status, stderr } = await cloister('verify-result', jws, '--policy', file('bad-policy.json', `{"root": \u001b[2J}`));
    expect(status).toBe(2);
    expect(stderr).toMatch(/^cloister: The client policy .* is invalid: not valid JSON/);
    expect(hasControlCharacters(stderr.slice(0, -1))).toBe(false);
  });
});

describe('a result nested deeper than can be written out', () => {
  it('verifies (exit 0) and says it is too deep to show, in text and in JSON', async () => {
    const deep = await signRaw(
      JSON.stringify({ v: 1, ...CLAIMS, result: 0, instance: key.instance, time: new Date().toISOString() }).replace(
        '"result":0',
        `"result":${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      ),
    );
    const text = await cloister('verify-result', deep, '--policy', policy);
    expect(text).toMatchObject({ status: 0, stdout: expect.stringContaining('result       (not shown: the result is nested more than 1000 levels deep') });
    const json = await cloister('verify-result', deep, '--policy', policy, '--json');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, result: null, resultOmitted: expect.stringContaining('too deep to show') });
  });

  it('still shows a result as deep as the limit', async () => {
    const result = JSON.parse(`${'['.repeat(1000)}${']'.repeat(1000)}`) as unknown;
    const signed = await createResultSigner(key).sign({ ...CLAIMS, result } as ResultClaims);
    const json = await cloister('verify-result', signed, '--policy', policy, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, result, resultOmitted: null });
  });
});

describe('a saved PSI response: the intersection beside the JWS is checked', () => {
  it('verifies a response larger than a JWS may be, and says that the list was checked', async () => {
    const items = Array.from({ length: 1_000_000 }, (_, i) => `item-${String(i).padStart(12, '0')}`);
    const response = await psiResponse(items);
    expect(response.length).toBeGreaterThan(16 << 20);
    const path = file('big-response.json', response);
    const text = await cloister('verify-result', path, '--policy', policy);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('  intersection the 1000000 items beside the result are the list the enclave signed');
    const json = await cloister('verify-result', path, '--policy', policy, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, intersectionItems: 1_000_000, result: { size: 1_000_000 } });
  });

  it('refuses, exit 1 INTERSECTION_MISMATCH, a response whose list was changed, however it is written', async () => {
    const saved = JSON.parse(await psiResponse(['fig', 'pear'])) as { intersection: string[]; jws: string };
    expect((await cloister('verify-result', file('psi.json', JSON.stringify(saved, null, 2)), '--policy', policy)).status).toBe(0);
    for (const intersection of [['mallory', 'pear'], ['fig'], ['fig', 'pear', 'kiwi'], 'fig', [['fig'], 'pear'], null]) {
      const { status, stdout } = await cloister('verify-result', file('changed.json', JSON.stringify({ ...saved, intersection }, null, 1)), '--policy', policy);
      expect({ status, stdout }).toEqual({
        status: 1,
        stdout: expect.stringMatching(/^✗ REFUSED: INTERSECTION_MISMATCH\n\n {2}The intersection .*not the one the enclave signed/),
      });
    }
  });

  it('refuses a list beside a result that signs none: exit 1', async () => {
    const { status, stdout } = await cloister('verify-result', file('size-only.json', JSON.stringify({ intersection: ['fig'], jws })), '--policy', policy);
    expect(status).toBe(1);
    expect(stdout).toContain('INTERSECTION_MISMATCH\n\n  This signed result holds no intersectionSha256');
  });

  it('says which field is too large when the "jws" beside it is longer than a signed result may be', async () => {
    const path = file('huge-jws.json', `{"intersection":[],"jws":"${'A'.repeat((16 << 20) + 1)}"}`);
    const { status, stderr } = await cloister('verify-result', path, '--policy', policy);
    expect(status).toBe(2);
    expect(stderr).toMatch(/The "jws" field of .*huge-jws\.json is longer than 16 MiB, the most a signed result may be\./);
  });
});

describe('nothing is read past its bound', () => {
  it.each([
    ['the JWS file', ['/dev/zero', '--policy', '<policy>'], /^cloister: \/dev\/zero is larger than 16 MiB, the most a signed result may be\.\n$/],
    [
      'the document',
      ['<jws>', '--policy', '<policy>', '--document', '/dev/zero'],
      /^cloister: \/dev\/zero is larger than 64 KiB; an attestation document is far smaller\.\n$/,
    ],
    ['the policy', ['<jws>', '--policy', '/dev/zero'], /^cloister: The client policy \/dev\/zero is invalid: \/dev\/zero is larger than 1 MiB/],
  ])('%s: /dev/zero is exit 2, naming the input and its limit', async (_, argv, message) => {
    const args = argv.map((arg) => (arg === '<policy>' ? policy : arg === '<jws>' ? jws : arg));
    const { status, stderr } = await cloister('verify-result', ...args);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
  });

  describe('on standard input', () => {
    let build: TestBuild;
    beforeAll(() => (build = buildForTests()));
    afterAll(() => build.remove());

    /** Runs the built CLI with `next()` feeding its standard input, chunk by chunk, until it returns null or the CLI exits. */
    function run(args: string[], next: () => Buffer | null): Promise<{ status: number | null; stdout: string; stderr: string }> {
      const child = spawn(process.execPath, [join(build.dir, 'cli', 'index.js'), 'verify-result', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
      child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
      // The CLI stops reading where its bound is: the broken pipe is what these tests want.
      child.stdin.on('error', () => {});
      let open = true;
      child.once('exit', () => (open = false));
      const pump = () => {
        while (open) {
          const chunk = next();
          if (chunk === null) return void child.stdin.end();
          if (!child.stdin.write(chunk)) return;
        }
      };
      child.stdin.on('drain', pump);
      pump();
      return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
    }

    it('stops an endless JWS (yes |) after 16 MiB: exit 2', async () => {
      const yes = Buffer.from('y\n'.repeat(1 << 15));
      const { status, stderr } = await run(['-', '--policy', policy], () => yes);
      expect(status).toBe(2);
      expect(stderr).toBe('cloister: standard input is larger than 16 MiB, the most a signed result may be.\n');
    }, 60_000);

    it('stops a saved response after 256 MiB: exit 2, saying how to verify its JWS alone', async () => {
      const chunks = [Buffer.from('{')];
      const spaces = Buffer.alloc(1 << 20, ' ');
      const { status, stderr } = await run(['-', '--policy', policy], () => chunks.shift() ?? spaces);
      expect(status).toBe(2);
      expect(stderr).toBe(
        'cloister: standard input is larger than 256 MiB, the most a saved response may be; verify the JWS alone: jq -r .jws response.json > result.jws\n',
      );
    }, 120_000);

    it('verifies a saved response from standard input', async () => {
      const chunks = [Buffer.from(await psiResponse(['fig', 'pear']))];
      const { status, stdout } = await run(['-', '--policy', policy], () => chunks.shift() ?? null);
      expect(status).toBe(0);
      expect(stdout).toContain('intersection the 2 items beside the result are the list the enclave signed');
    }, 60_000);
  });
});
