import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  AttestationError,
  type AttestationPayload,
  type AttestationPolicy,
  type ChainLink,
  type TrustedRoot,
  awsNitroRoot,
  readAttestation,
  rootFromPem,
  verifyAttestation,
} from '../attestation';
import { normalizePcrs } from '../attestation/policy';
import type { CliIo } from './io';
import { readDocument } from './read-document';
import { UsageError } from './usage-error';

interface VerifyFlags {
  root: string;
  at: string;
  pcr: string[];
  allowDebug?: boolean;
  json?: boolean;
}

/** The machine-readable report of `cloister verify --json`. */
export interface VerifyReport {
  valid: boolean;
  code: string | null;
  message: string | null;
  moduleId: string | null;
  timestamp: number | null;
  /** Every PCR of the document, hex. */
  pcrs: Record<string, string>;
  /** For each PCR the policy names: whether the document's value is accepted. */
  pcrChecks: Record<string, boolean>;
  /** The verified chain, root first (empty when verification failed before it). */
  chain: { subject: string; notBefore: string; notAfter: string }[];
  root: string;
  at: string;
}

/** `cloister verify <doc>`: offline verification of a stored document. */
export function registerVerify(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('verify')
    .description('Verify a stored attestation document offline (raw CBOR, hex or base64; - for stdin).')
    .argument('<doc>', 'the document file, or - for standard input')
    .option('--root <aws|PEM>', 'the root to trust: "aws" (the pinned AWS Nitro root) or a PEM file', 'aws')
    .option('--at <doc|ISO|ms>', 'the instant to verify at: "doc" (its own timestamp), an ISO date, or ms since 1970', 'now')
    .option('--pcr <N=HEX>', 'an accepted PCR value; repeat for more PCRs or more accepted values', collect, [])
    .option('--allow-debug', 'accept debug-mode documents (PCR0 all zero)')
    .option('--json', 'print a JSON report instead of text')
    .action((doc: string, flags: VerifyFlags) => {
      const report = verify(doc, flags);
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
      exit(report.valid ? 0 : 1);
    });
}

function verify(path: string, flags: VerifyFlags): VerifyReport {
  const bytes = readDocument(path);
  const root = loadRoot(flags.root);
  const policy: AttestationPolicy = { pcrs: parsePcrFlags(flags.pcr), allowDebug: flags.allowDebug ?? false };

  let payload: AttestationPayload | undefined;
  let chain: ChainLink[] = [];
  let refusal: AttestationError | undefined;
  let at = new Date();
  try {
    payload = readAttestation(bytes);
    at = parseInstant(flags.at, payload.timestamp);
    chain = verifyAttestation(bytes, { root, at, policy }).chain;
  } catch (e) {
    if (!(e instanceof AttestationError)) throw e;
    refusal = e;
  }
  const accepted = normalizePcrs(policy.pcrs);
  return {
    valid: refusal === undefined,
    code: refusal?.code ?? null,
    message: refusal?.message ?? null,
    moduleId: payload?.moduleId ?? null,
    timestamp: payload?.timestamp ?? null,
    pcrs: Object.fromEntries([...(payload?.pcrs ?? [])].map(([i, hex]) => [String(i), hex])),
    pcrChecks: Object.fromEntries([...accepted].map(([i, values]) => [String(i), values.includes(payload?.pcrs.get(i) ?? '')])),
    chain: chain.map((l) => ({ subject: l.subject, notBefore: l.notBefore.toISOString(), notAfter: l.notAfter.toISOString() })),
    root: `${root.subject} (sha256 ${root.sha256})`,
    at: at.toISOString(),
  };
}

/** `--root aws` or a PEM file: the root a stored document is verified under. */
export function loadRoot(root: string): TrustedRoot {
  if (root === 'aws') return awsNitroRoot();
  let pem: string;
  try {
    pem = readFileSync(root, 'utf8');
  } catch (e) {
    throw new UsageError(`Cannot read the root ${root}: ${(e as Error).message}.`);
  }
  try {
    return rootFromPem(pem);
  } catch (e) {
    throw new UsageError(`${root} is not a PEM certificate: ${(e as Error).message}`);
  }
}

/** `--at`: "now", "doc" (the document's own time), an ISO 8601 date, or milliseconds since 1970. */
function parseInstant(at: string, documentTime: number): Date {
  if (at === 'now') return new Date();
  if (at === 'doc') return new Date(documentTime);
  const date = /^\d+$/.test(at) ? new Date(Number(at)) : new Date(at);
  if (Number.isNaN(date.getTime()) || !/\d/.test(at)) throw new UsageError(`--at ${at} is not "doc", "now", an ISO date or a number of milliseconds.`);
  return date;
}

function parsePcrFlags(flags: string[]): Record<string, string[]> {
  const pcrs: Record<string, string[]> = {};
  for (const flag of flags) {
    const match = /^(\d{1,2})=([0-9a-fA-F]{96})$/.exec(flag);
    if (!match || Number(match[1]) > 31) throw new UsageError(`--pcr ${flag} is not N=HEX with N from 0 to 31 and 96 hex digits.`);
    (pcrs[match[1]!] ??= []).push(match[2]!.toLowerCase());
  }
  return pcrs;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function textReport(r: VerifyReport): string {
  const lines = [r.valid ? '✓ VALID attestation document' : `✗ REFUSED: ${r.code}`, ''];
  if (!r.valid) lines.push(`  ${r.message}`, '');
  if (r.moduleId !== null) {
    lines.push(`  module     ${r.moduleId}`, `  time       ${new Date(r.timestamp!).toISOString()} (${r.timestamp})`);
  }
  lines.push(`  checked at ${r.at}`, `  root       ${r.root}`, '');
  if (Object.keys(r.pcrs).length > 0) {
    lines.push('  PCR  value');
    for (const [index, hex] of Object.entries(r.pcrs)) {
      const mark = index in r.pcrChecks ? (r.pcrChecks[index] ? '✓' : '✗') : ' ';
      if (hex === '0'.repeat(96) && !(index in r.pcrChecks)) continue;
      lines.push(`  ${mark} ${index.padStart(2)} ${hex}`);
    }
    for (const index of Object.keys(r.pcrChecks).filter((i) => !(i in r.pcrs))) lines.push(`  ✗ ${index.padStart(2)} (absent)`);
    lines.push('  (PCRs that are all zero and not in the policy are not shown)', '');
  }
  if (r.chain.length > 0) {
    lines.push('  certificate chain (root first)');
    for (const link of r.chain) lines.push(`    ${link.subject}`, `      ${link.notBefore} → ${link.notAfter}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
