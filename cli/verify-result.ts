import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AttestationError } from '../attestation';
import { MAX_RESULT_JWS_CHARS, ResultError, type VerifiedResult, verifyResult } from '../client';
import { DEV_OPTION, loadClientPolicy } from './client-policy';
import type { CliIo } from './io';
import { readDocument } from './read-document';
import { UsageError } from './usage-error';

interface VerifyResultFlags {
  policy: string;
  document?: string;
  dev?: boolean | string;
  json?: boolean;
}

/** The machine-readable report of `cloister verify-result --json`. */
export interface VerifyResultReport {
  valid: boolean;
  code: string | null;
  message: string | null;
  app: string | null;
  resource: string | null;
  participants: string[] | null;
  result: unknown;
  instance: string | null;
  time: string | null;
  config: string | null;
  moduleId: string | null;
  /** When the document that vouches for the key was made (ms since 1970). */
  documentTime: number | null;
}

/** A refusal's report: what a refused result says is not worth showing. */
const NOTHING_VERIFIED: VerifyResultReport = {
  valid: false,
  code: null,
  message: null,
  app: null,
  resource: null,
  participants: null,
  result: null,
  instance: null,
  time: null,
  config: null,
  moduleId: null,
  documentTime: null,
};

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** `cloister verify-result <jws>`: offline verification of a signed result. */
export function registerVerifyResult(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('verify-result')
    .description(
      'Verify a signed result offline: the attestation document that vouches for its key verifies under the policy, and the enclave signed exactly this result.',
    )
    .argument('<jws>', 'the compact JWS, a file holding it (or a JSON response with a "jws" field), or - for standard input')
    .requiredOption('--policy <file>', 'the client policy (JSON): root, pcrs, config, allowDebug (maxAgeSeconds does not apply to a stored document)')
    .option('--document <doc>', 'verify against this attestation document of the instance (raw CBOR, hex or base64) instead of the one in the JWS')
    .option(...DEV_OPTION)
    .option('--json', 'print a JSON report instead of text')
    .action(async (source: string, flags: VerifyResultFlags) => {
      const policy = loadClientPolicy(flags.policy, flags.dev);
      const jws = readJws(source);
      const document = flags.document === undefined ? undefined : readDocument(flags.document);
      const report = await check(jws, policy, document);
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
      exit(report.valid ? 0 : 1);
    });
}

async function check(jws: string, policy: Parameters<typeof verifyResult>[1], document: Uint8Array | undefined): Promise<VerifyResultReport> {
  let verified: VerifiedResult;
  try {
    verified = await verifyResult(jws, policy, { document });
  } catch (e) {
    if (!(e instanceof ResultError || e instanceof AttestationError)) throw e;
    return { ...NOTHING_VERIFIED, code: e.code, message: e.message };
  }
  const { payload } = verified;
  return {
    valid: true,
    code: null,
    message: null,
    app: payload.app,
    resource: payload.resource,
    participants: payload.participants,
    result: payload.result,
    instance: payload.instance,
    time: payload.time,
    config: verified.configDigest,
    moduleId: verified.document.moduleId,
    documentTime: verified.document.timestamp,
  };
}

/** The JWS from the argument: a literal, `-`, a file with the JWS, or a file with a JSON response carrying `jws`. */
function readJws(source: string): string {
  if (source !== '-' && !existsSync(source)) {
    if (COMPACT_JWS.test(source)) return source;
    throw new UsageError(`${source} is neither a file nor a compact JWS.`);
  }
  let text: string;
  try {
    const bytes = source === '-' ? readFileSync(0) : readFileSync(source);
    if (bytes.length > MAX_RESULT_JWS_CHARS) throw new Error(`${bytes.length} bytes, more than a signed result may have (${MAX_RESULT_JWS_CHARS})`);
    text = bytes.toString('utf8').trim();
  } catch (e) {
    throw new UsageError(`Cannot read ${source === '-' ? 'standard input' : source}: ${(e as Error).message}.`);
  }
  if (text.startsWith('{')) {
    let jws: unknown;
    try {
      jws = (JSON.parse(text) as { jws?: unknown }).jws;
    } catch (e) {
      throw new UsageError(`${source} is not JSON: ${(e as Error).message}.`);
    }
    if (typeof jws !== 'string') throw new UsageError(`${source} is JSON without a "jws" string field.`);
    return jws;
  }
  return text;
}

function textReport(r: VerifyResultReport): string {
  if (!r.valid) return `✗ REFUSED: ${r.code}\n\n  ${r.message}\n`;
  const lines = [
    '✓ VERIFIED signed result',
    '',
    `  app          ${r.app}`,
    `  resource     ${r.resource}`,
    `  participants ${r.participants!.join(', ')}`,
    `  result       ${JSON.stringify(r.result)}`,
    `  signed at    ${r.time}`,
    `  by instance  ${r.instance} of ${r.moduleId}`,
    `  config       ${r.config}`,
    `  vouched for by an attestation document of ${new Date(r.documentTime!).toISOString()}, verified under the policy`,
  ];
  return `${lines.join('\n')}\n`;
}
