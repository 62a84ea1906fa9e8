import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AttestationError, readAttestation, verifyAttestation } from '../attestation';
import { type ClientPolicy, checkAttestation, fetchAttestation } from '../client';
import { buildEnclave } from '../image/build-enclave';
import type { Pcrs } from '../image/pcrs';
import { type BuildFlags, buildFailure, buildOptions, enclaveBuild } from './build';
import { refusalOf } from './client-errors';
import { DEV_OPTION, loadClientPolicy } from './client-policy';
import type { CliIo } from './io';
import { readDocument } from './read-document';
import { UsageError } from './usage-error';
import { loadRoot } from './verify';

interface VerifyBuildFlags extends BuildFlags {
  against: string;
  policy?: string;
  dev?: boolean | string;
  root: string;
  out?: string;
  json?: boolean;
}

/** Where the PCRs to compare with come from, checked before anything is built. */
type Against = { kind: 'url'; url: string; policy: ClientPolicy } | { kind: 'pcrs'; path: string; pcrs: Pcrs } | { kind: 'document'; path: string; pcrs: Pcrs };

const COMPARED = ['PCR0', 'PCR1', 'PCR2'] as const;

/** `cloister verify-build <source> --against …`: rebuild a checkout and compare its PCRs. */
export function registerVerifyBuild(program: Command, io: CliIo, exit: (status: number) => void): void {
  buildOptions(
    program
      .command('verify-build')
      .description(
        'Rebuild the enclave image from a source checkout (docker build and our own EIF), and show whether its PCR0/1/2 ' +
          'equal those a running enclave attests, those of a pcrs.json, or those of a stored attestation document.',
      )
      .argument('<source>', 'the source checkout (the Docker build context)')
      .requiredOption('--against <url|pcrs.json|document>', 'https://… of a running enclave, a pcrs.json, or an attestation document file')
      .option('--policy <file>', 'with a URL: the client policy whose root, configuration and age the document must satisfy (its PCRs are what is compared)')
      .option(...DEV_OPTION)
      .option('--root <aws|PEM>', 'with a stored document: the root to verify it under', 'aws')
      .option('--out <dir>', 'keep the rebuilt EIF here (default: a temporary folder, removed)')
      .option('--json', 'print a JSON report'),
    // Not the tag cloister build gives, so that a check never replaces the image being deployed.
    'cloister-verify-build:latest',
  ).action(async (source: string, flags: VerifyBuildFlags) => {
    exit(await verifyBuild(source, flags, io));
  });
}

function loadAgainst(flags: VerifyBuildFlags): Against {
  if (/^https?:\/\//i.test(flags.against)) {
    if (flags.policy === undefined)
      throw new UsageError(`--against ${flags.against} is a running enclave: give --policy FILE for its root, configuration and age.`);
    return { kind: 'url', url: flags.against, policy: loadClientPolicy(flags.policy, flags.dev) };
  }
  let text: string;
  try {
    text = readFileSync(flags.against, 'latin1');
  } catch (e) {
    throw new UsageError(`cannot read --against ${flags.against}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  if (text.trimStart().startsWith('{')) return { kind: 'pcrs', path: flags.against, pcrs: parsePcrsJson(text, flags.against) };
  const bytes = readDocument(flags.against);
  try {
    const at = new Date(readAttestation(bytes).timestamp);
    const document = verifyAttestation(bytes, { root: loadRoot(flags.root), at, policy: { pcrs: {}, allowDebug: false } });
    return { kind: 'document', path: flags.against, pcrs: pcrsOf(document.pcrs) };
  } catch (e) {
    if (e instanceof AttestationError) throw new UsageError(`--against ${flags.against} is not a valid attestation document: ${e.code}: ${e.message}`);
    throw e;
  }
}

function parsePcrsJson(text: string, path: string): Pcrs {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path} is not JSON: ${(e as Error).message}`);
  }
  const pcrs: Pcrs = {};
  for (const name of COMPARED) {
    const value = (json as Record<string, unknown>)[name];
    if (typeof value !== 'string' || !/^[0-9a-fA-F]{96}$/.test(value))
      throw new UsageError(`${path} has no ${name} of 96 hex digits; it is not a pcrs.json from cloister build or cloister pcrs --json.`);
    pcrs[name] = value.toLowerCase();
  }
  return pcrs;
}

const pcrsOf = (values: ReadonlyMap<number, string>): Pcrs =>
  Object.fromEntries(COMPARED.map((name) => [name, values.get(Number(name.slice(3))) ?? ''])) as Pcrs;

async function verifyBuild(source: string, flags: VerifyBuildFlags, io: CliIo): Promise<number> {
  const context = resolve(source);
  if (!existsSync(context) || !statSync(context).isDirectory()) throw new UsageError(`${source} is not a directory: give the source checkout to rebuild.`);
  const against = loadAgainst(flags);
  const out = flags.out === undefined ? mkdtempSync(join(tmpdir(), 'cloister-verify-build-')) : resolve(flags.out);
  const plan = enclaveBuild(flags, context, out, io);
  try {
    const built = await buildEnclave(plan);
    const expected = await expectedPcrs(against, io);
    if (expected === undefined) return 1;
    const rows = COMPARED.map((name) => ({ pcr: name, built: built.pcrs[name]!, against: expected[name]!, match: built.pcrs[name] === expected[name] }));
    const match = rows.every((row) => row.match);
    const described = against.kind === 'url' ? against.url : `${against.path} (${against.kind === 'pcrs' ? 'pcrs.json' : 'attestation document'})`;
    if (flags.json) {
      io.stdout(`${JSON.stringify({ match, source: context, against: described, image: built.imageId, rows }, null, 2)}\n`);
    } else {
      const lines = [
        match ? `✓ MATCH: ${context} builds the enclave of ${described}` : `✗ MISMATCH: ${context} does not build the enclave of ${described}`,
        '',
      ];
      for (const row of rows) {
        lines.push(`  ${row.match ? '✓' : '✗'} ${row.pcr}  built   ${row.built}`, `          against ${row.against}`);
      }
      const differing = rows.filter((row) => !row.match).map((row) => row.pcr);
      if (differing.length > 0) lines.push('', `  differs: ${differing.join(', ')}`);
      if (differing.includes('PCR1'))
        lines.push('  PCR1 covers only the kernel, its command line and the bootstrap: rebuild with the same --blobs/--kernel as the enclave.');
      io.stdout(`${lines.join('\n')}\n`);
    }
    return match ? 0 : 1;
  } catch (e) {
    return buildFailure(e, io, 'verify-build');
  } finally {
    if (flags.out === undefined) rmSync(out, { recursive: true, force: true });
  }
}

/** The PCRs to compare with; for a running enclave, of a fresh document verified now (undefined: refused, said why). */
async function expectedPcrs(against: Against, io: CliIo): Promise<Pcrs | undefined> {
  if (against.kind !== 'url') return against.pcrs;
  try {
    // The policy vouches for the root, configuration, freshness and TLS key; the PCRs are what is being checked.
    const server = checkAttestation(await fetchAttestation(against.url), { ...against.policy, pcrs: {} });
    return pcrsOf(server.document.pcrs);
  } catch (e) {
    const refusal = refusalOf(e);
    io.stderr(`cloister verify-build: the enclave at ${against.url} was refused: ${refusal.code}: ${refusal.message}\n`);
    return undefined;
  }
}
