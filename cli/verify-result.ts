import type { Command } from 'commander';
import { AttestationError } from '../attestation';
import { ResultError, type VerifiedResult, checkIntersection, verifyResult } from '../client';
import { DEV_OPTION, loadClientPolicy } from './client-policy';
import type { CliIo } from './io';
import { nestedDeeperThan } from './nesting-depth';
import { readDocument } from './read-document';
import { type ResultSource, readResultSource } from './read-result-source';
import { MAX_MESSAGE_CHARS, terminalJson, terminalText } from './terminal-text';
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
  /** Why `result` is null though the result verified: it is nested too deeply to write out. */
  resultOmitted: string | null;
  /** How many items the `intersection` beside the JWS had, when it was checked against the signed `intersectionSha256`. */
  intersectionItems: number | null;
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
  resultOmitted: null,
  intersectionItems: null,
  instance: null,
  time: null,
  config: null,
  moduleId: null,
  documentTime: null,
};

/** Deeper results are not written out: JSON.stringify would overflow the stack, and nobody reads them on a terminal. */
const MAX_SHOWN_DEPTH = 1000;

/** `cloister verify-result <jws>`: offline verification of a signed result. */
export function registerVerifyResult(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('verify-result')
    .description(
      'Verify a signed result offline: the attestation document that vouches for its key verifies under the policy, and the enclave signed exactly this result.',
    )
    .argument(
      '<jws>',
      'the compact JWS, a file holding it (at most 16 MiB) or a saved JSON response with a "jws" field (at most 256 MiB; a PSI "intersection" beside it is checked too), or - for standard input',
    )
    .requiredOption('--policy <file>', 'the client policy (JSON): root, pcrs, config, allowDebug (maxAgeSeconds does not apply to a stored document)')
    .option('--document <doc>', 'verify against this attestation document of the instance (raw CBOR, hex or base64) instead of the one in the JWS')
    .option(...DEV_OPTION)
    .option('--json', 'print a JSON report instead of text')
    .action(async (source: string, flags: VerifyResultFlags) => {
      if (source === '-' && flags.document === '-') {
        throw new UsageError('--document -: standard input is where the JWS is read from (the argument -); give the document as a file.');
      }
      const policy = loadClientPolicy(flags.policy, flags.dev);
      const input = readResultSource(source);
      const document = flags.document === undefined ? undefined : readDocument(flags.document);
      const report = await check(input, policy, document);
      io.stdout(flags.json ? `${terminalJson(report, 2)}\n` : textReport(report));
      exit(report.valid ? 0 : 1);
    });
}

async function check(input: ResultSource, policy: Parameters<typeof verifyResult>[1], document: Uint8Array | undefined): Promise<VerifyResultReport> {
  let verified: VerifiedResult;
  try {
    verified = await verifyResult(input.jws, policy, { document });
    if ('intersection' in input) checkIntersection(verified, input.intersection);
  } catch (e) {
    if (!(e instanceof ResultError || e instanceof AttestationError)) throw e;
    return { ...NOTHING_VERIFIED, code: e.code, message: e.message };
  }
  const { payload } = verified;
  const tooDeep = nestedDeeperThan(payload.result, MAX_SHOWN_DEPTH);
  return {
    valid: true,
    code: null,
    message: null,
    app: payload.app,
    resource: payload.resource,
    participants: payload.participants,
    result: tooDeep ? null : payload.result,
    resultOmitted: tooDeep ? `the result is nested more than ${MAX_SHOWN_DEPTH} levels deep, too deep to show` : null,
    // checkIntersection passed, so it is a list.
    intersectionItems: Array.isArray(input.intersection) ? input.intersection.length : null,
    instance: payload.instance,
    time: payload.time,
    config: verified.configDigest,
    moduleId: verified.document.moduleId,
    documentTime: verified.document.timestamp,
  };
}

/** The report for a person. Every value in it comes from the input, so each is escaped for the terminal. */
function textReport(r: VerifyResultReport): string {
  if (!r.valid) return `✗ REFUSED: ${r.code}\n\n  ${terminalText(r.message!, MAX_MESSAGE_CHARS)}\n`;
  const lines = [
    '✓ VERIFIED signed result',
    '',
    `  app          ${terminalText(r.app!)}`,
    `  resource     ${terminalText(r.resource!)}`,
    `  participants ${r.participants!.map((name) => terminalText(name)).join(', ')}`,
    `  result       ${r.resultOmitted === null ? terminalJson(r.result) : `(not shown: ${r.resultOmitted})`}`,
    ...(r.intersectionItems === null
      ? []
      : [`  intersection the ${r.intersectionItems} items beside the result are the list the enclave signed (its SHA-256 is intersectionSha256)`]),
    `  signed at    ${terminalText(r.time!)}`,
    `  by instance  ${r.instance} of ${terminalText(r.moduleId!)}`,
    `  config       ${r.config}`,
    `  vouched for by an attestation document of ${new Date(r.documentTime!).toISOString()}, verified under the policy`,
  ];
  return `${lines.join('\n')}\n`;
}
