import { readFileSync } from 'node:fs';
import { type IncomingHttpHeaders, validateHeaderName, validateHeaderValue } from 'node:http';
import { request } from 'node:https';
import type { Command } from 'commander';
import { AttestedAgent, type AttestedServer, ClientError, type ClientIdentity, httpsOrigin, loadIdentity, spkiDigest } from '../client';
import { refusalOf } from './client-errors';
import { DEV_OPTION, loadClientPolicy } from './client-policy';
import type { CliIo } from './io';
import { UsageError } from './usage-error';

interface CallFlags {
  request?: string;
  data?: string;
  header: string[];
  identity: string;
  policy: string;
  dev?: boolean | string;
  json?: boolean;
  timeout: string;
}

interface Response {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The machine-readable result of `cloister call --json`. */
export interface CallReport {
  /** True for a 2xx answer from an attested server. */
  ok: boolean;
  status: number | null;
  headers: IncomingHttpHeaders | null;
  /** The response body: parsed when it is JSON, text otherwise. */
  body: unknown;
  /** The attested server, when attestation succeeded. */
  server: { url: string; moduleId: string; publicKey: string; config: string | null; instance: string | null } | null;
  /** Why the server was refused, when it was. */
  refused: { code: string; message: string } | null;
}

/** `cloister call <url>`: one attested, authenticated request. */
export function registerCall(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('call')
    .description('Make one HTTPS request to an enclave, sent only after its attestation verifies under the policy, authenticated with a client identity.')
    .argument('<url>', 'the URL to call, https://host[:port]/path')
    .option('-X, --request <method>', 'the HTTP method (default GET, or POST with -d)')
    .option('-d, --data <data>', 'the request body; @FILE reads it from a file, @- from standard input; JSON is sent as application/json')
    .option('-H, --header <name: value>', 'a request header; repeat for more', collect, [])
    .requiredOption('--identity <dir>', 'the client identity directory from cloister keygen (key.pem, cert.pem)')
    .requiredOption('--policy <file>', 'the client policy (JSON): root, pcrs, config, maxAgeSeconds, allowDebug')
    .option(...DEV_OPTION)
    .option('--timeout <seconds>', 'give up when the server is silent this long', '60')
    .option('--json', 'print a JSON report (status, headers, body, attested server) instead of the body')
    .action(async (url: string, flags: CallFlags) => {
      const report = await call(url, flags, io);
      if (flags.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      exit(report.ok ? 0 : 1);
    });
}

async function call(url: string, flags: CallFlags, io: CliIo): Promise<CallReport> {
  const target = parseUrl(url);
  const body = flags.data === undefined ? undefined : readData(flags.data);
  const headers = parseHeaders(flags.header, body);
  const method = (flags.request ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`-X ${flags.request} is not an HTTP method.`);
  const timeoutMs = parseTimeout(flags.timeout);
  const policy = loadClientPolicy(flags.policy, flags.dev);
  const identity = readIdentity(flags.identity);

  let server: AttestedServer | undefined;
  const agent = new AttestedAgent({ policy, identity, timeoutMs, onAttested: (s) => (server = s) });
  let response: Response;
  try {
    response = await send(target, { method, headers, body, agent, timeoutMs });
  } catch (e) {
    const refusal = refusalOf(e);
    if (!flags.json) io.stderr(`cloister: refused ${target.origin}: ${refusal.code}: ${refusal.message}\n`);
    return { ok: false, status: null, headers: null, body: null, server: null, refused: { code: refusal.code, message: refusal.message } };
  } finally {
    agent.destroy();
  }

  const attested = server && {
    url: server.url,
    moduleId: server.document.moduleId,
    publicKey: spkiDigest(server.spki),
    config: server.configDigest,
    instance: server.instanceId,
  };
  const ok = response.status >= 200 && response.status < 300;
  if (!flags.json) {
    if (attested)
      io.stderr(
        `attested ${attested.moduleId}: key ${attested.publicKey}, config ${attested.config ?? '(none)'}, as ${identity.name} (${identity.keyDigest})\n`,
      );
    io.stderr(`HTTP ${response.status} ${response.statusText}\n`);
    io.stdout(response.body.toString('utf8'));
  }
  return { ok, status: response.status, headers: response.headers, body: bodyValue(response), server: attested ?? null, refused: null };
}

function send(
  url: URL,
  options: { method: string; headers: Record<string, string>; body: Buffer | undefined; agent: AttestedAgent; timeoutMs: number },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, agent: options.agent, timeout: options.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new UsageError(`${url.host} was silent for ${options.timeoutMs / 1000} s; giving up.`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function parseUrl(url: string): URL {
  try {
    httpsOrigin(url);
  } catch (e) {
    if (e instanceof ClientError) throw new UsageError(e.message);
    throw e;
  }
  return new URL(url);
}

/** `-d`: the text itself, or `@FILE` / `@-` (standard input), as curl reads it. */
function readData(data: string): Buffer {
  if (!data.startsWith('@')) return Buffer.from(data, 'utf8');
  const path = data.slice(1);
  try {
    return path === '-' ? readFileSync(0) : readFileSync(path);
  } catch (e) {
    throw new UsageError(`Cannot read the request body from ${path === '-' ? 'standard input' : path}: ${(e as Error).message}.`);
  }
}

function parseHeaders(flags: string[], body: Buffer | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const flag of flags) {
    const colon = flag.indexOf(':');
    const name = flag.slice(0, colon).trim();
    const value = flag.slice(colon + 1).trim();
    try {
      if (colon < 1) throw new Error();
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      throw new UsageError(`-H ${JSON.stringify(flag)} is not a header "Name: value".`);
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const named = (wanted: string) => Object.keys(headers).some((n) => n.toLowerCase() === wanted);
  // The apps take JSON bodies; anything else is sent as opaque bytes unless -H says otherwise.
  if (body !== undefined && !named('content-type')) headers['Content-Type'] = isJson(body) ? 'application/json' : 'application/octet-stream';
  return headers;
}

function parseTimeout(seconds: string): number {
  const value = Number(seconds);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--timeout ${seconds} is not a positive number of seconds.`);
  return value * 1000;
}

function readIdentity(dir: string): ClientIdentity {
  try {
    return loadIdentity(dir);
  } catch (e) {
    if (e instanceof ClientError) throw new UsageError(e.message);
    throw e;
  }
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function bodyValue(response: Response): unknown {
  const text = response.body.toString('utf8');
  if (/^application\/([\w.+-]*\+)?json\b/i.test(response.headers['content-type'] ?? '') && isJson(response.body)) return JSON.parse(text);
  return text;
}

const collect = (value: string, previous: string[]) => [...previous, value];
