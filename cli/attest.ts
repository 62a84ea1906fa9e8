import type { Command } from 'commander';
import { type AttestationError, type AttestationPayload, readAttestation } from '../attestation';
import {
  type AttestedServer,
  type ClientError,
  type ClientPolicy,
  type FetchedAttestation,
  bindingOf,
  checkAttestation,
  fetchAttestation,
  spkiDigest,
} from '../client';
import { refusalOf } from './client-errors';
import { DEV_OPTION, loadClientPolicy } from './client-policy';
import type { CliIo } from './io';

interface AttestFlags {
  policy: string;
  dev?: boolean | string;
  json?: boolean;
}

/** The machine-readable report of `cloister attest --json`. */
export interface AttestReport {
  valid: boolean;
  code: string | null;
  message: string | null;
  url: string;
  moduleId: string | null;
  timestamp: number | null;
  checkedAt: string;
  root: string;
  /** The document's `public_key` (hex SPKI DER), under the document's own field name. */
  public_key: string | null;
  /** The SPKI DER (hex) of the TLS key the server presented on the connection the document came over. */
  presentedKey: string | null;
  /** `sha256:<hex>` of the presented key. */
  presentedKeyDigest: string | null;
  /** The configuration digest the document binds, and the one the policy expects (null: any). */
  config: string | null;
  expectedConfig: string | null;
  instance: string | null;
  /** Every PCR of the document, hex. */
  pcrs: Record<string, string>;
  /** For each PCR the policy names: whether the document's value is accepted. */
  pcrChecks: Record<string, boolean>;
}

/** `cloister attest <url>`: fetch a fresh document from a live server and verify it. */
export function registerAttest(program: Command, io: CliIo, exit: (status: number) => void): void {
  program
    .command('attest')
    .description("Fetch a fresh attestation document from a server and verify it, and the server's TLS key, under a client policy.")
    .argument('<url>', 'the server, https://host[:port]')
    .requiredOption('--policy <file>', 'the client policy (JSON): root, pcrs, config, maxAgeSeconds, allowDebug')
    .option(...DEV_OPTION)
    .option('--json', 'print a JSON report instead of text')
    .action(async (url: string, flags: AttestFlags) => {
      const report = await attestReport(url, loadClientPolicy(flags.policy, flags.dev));
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
      exit(report.valid ? 0 : 1);
    });
}

async function attestReport(url: string, policy: ClientPolicy): Promise<AttestReport> {
  let fetched: FetchedAttestation | undefined;
  let server: AttestedServer | undefined;
  let refusal: AttestationError | ClientError | undefined;
  try {
    fetched = await fetchAttestation(url);
    server = checkAttestation(fetched, policy);
  } catch (e) {
    refusal = refusalOf(e);
  }
  const payload = server?.document ?? readQuietly(fetched?.bytes);
  const binding = bindingOf(payload?.userData ?? null);
  const accepted = Object.entries(policy.pcrs);
  return {
    valid: refusal === undefined,
    code: refusal?.code ?? null,
    message: refusal?.message ?? null,
    url: fetched?.url ?? url,
    moduleId: payload?.moduleId ?? null,
    timestamp: payload?.timestamp ?? null,
    checkedAt: new Date().toISOString(),
    root: `${policy.root.subject} (sha256 ${policy.root.sha256})`,
    public_key: hex(payload?.publicKey),
    presentedKey: hex(fetched?.spki),
    presentedKeyDigest: fetched ? spkiDigest(fetched.spki) : null,
    config: binding.configDigest,
    expectedConfig: hex(policy.configDigest),
    instance: binding.instanceId,
    pcrs: Object.fromEntries([...(payload?.pcrs ?? [])].map(([i, value]) => [String(i), value])),
    pcrChecks: Object.fromEntries(accepted.map(([i, values]) => [i, values.includes(payload?.pcrs.get(Number(i)) ?? '')])),
  };
}

/** The fields of a refused document, for the report only: nothing here is trusted. */
function readQuietly(bytes: Uint8Array | undefined): AttestationPayload | undefined {
  try {
    return bytes === undefined ? undefined : readAttestation(bytes);
  } catch {
    return undefined;
  }
}

const hex = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : null);

function textReport(r: AttestReport): string {
  const lines = [r.valid ? `✓ VERIFIED ${r.url}` : `✗ REFUSED ${r.url}: ${r.code}`, ''];
  if (!r.valid) lines.push(`  ${r.message}`, '');
  if (r.moduleId !== null) {
    const age = Date.parse(r.checkedAt) - r.timestamp!;
    lines.push(`  module      ${r.moduleId}`, `  time        ${new Date(r.timestamp!).toISOString()} (${age} ms before the check)`);
  }
  lines.push(`  checked at  ${r.checkedAt}`, `  root        ${r.root}`);
  if (r.presentedKeyDigest !== null) {
    if (r.public_key === null || r.public_key === r.presentedKey) {
      const mark = r.public_key === null ? '✗' : '✓';
      lines.push(
        `${mark} public key  ${r.presentedKeyDigest} (the TLS key presented${r.public_key === null ? '; the document binds none' : ', bound by the document'})`,
      );
    } else {
      lines.push(
        `✗ public key  ${r.presentedKeyDigest} was presented,`,
        `              but the document binds ${spkiDigest(Buffer.from(r.public_key, 'hex'))}`,
      );
    }
  }
  if (r.expectedConfig === null) lines.push(`  config      ${r.config ?? '(none bound)'} (the policy accepts any)`);
  else if (r.config === r.expectedConfig) lines.push(`✓ config      ${r.config}`);
  else lines.push(`✗ config      ${r.config ?? '(none bound)'}`, `              expected ${r.expectedConfig}`);
  if (r.instance !== null) lines.push(`  instance    ${r.instance}`);
  lines.push('');
  if (Object.keys(r.pcrs).length > 0) {
    lines.push('  PCR  value');
    for (const [index, value] of Object.entries(r.pcrs)) {
      const mark = index in r.pcrChecks ? (r.pcrChecks[index] ? '✓' : '✗') : ' ';
      if (value === '0'.repeat(96) && !(index in r.pcrChecks)) continue;
      lines.push(`  ${mark} ${index.padStart(2)} ${value}`);
    }
    for (const index of Object.keys(r.pcrChecks).filter((i) => !(i in r.pcrs))) lines.push(`  ✗ ${index.padStart(2)} (absent)`);
    lines.push('  (PCRs that are all zero and not in the policy are not shown)', '');
  }
  return `${lines.join('\n')}\n`;
}
