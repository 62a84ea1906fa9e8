import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsNitroRoot, readAttestation, verifyAttestation } from '../attestation';
import { clearVerifiedChains } from '../attestation/verify-chain';
import { P384_BACKEND, type P384Verifier, nettleVerifyP384, nodeVerifyP384 } from '../attestation/verify-p384';

/**
 * Attestation documents verified per second, cold (no cached chain) and warm (chain cached per
 * leaf certificate; the document signature is always checked), on the real NSM documents, side by
 * side with Evervault's Rust verifier on the same documents in the same run.
 */
const FIXTURES = join(__dirname, '..', '..', 'tests', 'fixtures', 'nitro');
const FILES = ['prod-2022-10-13.cose', 'prod-2022-09-15-high-s.cose', 'prod-2026-02-02-indefinite-map.cose'];
const COLD_RUNS = 200;
const WARM_RUNS = 2000;
const PEER_RUNS = 500;
/** DESIGN.md: verifying a document warm, with no network, in under 0.4 ms. */
const BUDGET_MS = 0.4;

function perDocMs(runs: number, body: () => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) body();
  return Number(process.hrtime.bigint() - started) / 1e6 / runs;
}

/**
 * One ECDSA P-384 / SHA-384 signature check by `verifier` alone, over a payload the size of a
 * document's: the floor of a warm verification, which always checks the document's signature.
 */
function signatureFloorMs(verifier: P384Verifier): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const payload = randomBytes(4096);
  const signature = sign('sha384', payload, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (!verifier(payload, publicKey, signature)) throw new Error('the P-384 verifier refused a good signature');
  return perDocMs(WARM_RUNS, () => verifier(payload, publicKey, signature));
}

function peer(path: string, timestamp: number): { perDocMs: number; reached: string } | string {
  const faketime = spawnSync('sh', ['-c', 'command -v faketime'], { encoding: 'utf8' }).stdout.trim();
  if (!faketime) return 'not run: needs libfaketime (apt-get install faketime) to set its clock to the document time';
  const at = new Date(timestamp + 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
  const run = spawnSync(faketime, [at, process.execPath, join(__dirname, 'peer', 'evervault.js'), path, String(PEER_RUNS)], {
    env: { ...process.env, TZ: 'UTC' },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) return `failed: ${run.stderr.trim().split('\n').pop()}`;
  const reached = run.stderr.trim().split('\n').pop() ?? '';
  return { ...(JSON.parse(run.stdout) as { perDocMs: number }), reached };
}

const root = awsNitroRoot();
console.log(`attestation verification, Node ${process.version}; ms per document (documents per second)`);
console.log('document                              cold            warm            evervault (Rust)   warm vs evervault');
let slowestWarm = 0;
for (const file of FILES) {
  const path = join(FIXTURES, file);
  const bytes = readFileSync(path);
  const at = readAttestation(bytes).timestamp;
  const verify = () => verifyAttestation(bytes, { root, at });
  const cold = perDocMs(COLD_RUNS, () => {
    clearVerifiedChains();
    verify();
  });
  verify();
  const warm = perDocMs(WARM_RUNS, verify);
  slowestWarm = Math.max(slowestWarm, warm);
  const other = peer(path, at);
  const fmt = (ms: number) => `${ms.toFixed(3)} (${Math.round(1000 / ms)}/s)`.padEnd(16);
  const peerText = typeof other === 'string' ? other : `${fmt(other.perDocMs)}   ${(other.perDocMs / warm).toFixed(1)}x faster`;
  console.log(`${file.padEnd(38)}${fmt(cold)}${fmt(warm)}${peerText}`);
  if (typeof other !== 'string') console.log(`  evervault stopped at: ${other.reached.replace(/^.*received: /, '')}`);
}
const nodeFloor = signatureFloorMs(nodeVerifyP384);
const nettleFloor = nettleVerifyP384 && signatureFloorMs(nettleVerifyP384);
console.log(`P-384 signatures are checked with ${P384_BACKEND}; one check alone, the floor of a warm verification:`);
console.log(
  `  node:crypto (OpenSSL ${process.versions.openssl}) ${nodeFloor.toFixed(3)} ms; ` +
    (nettleFloor
      ? `Nettle (cloister_p384 addon) ${nettleFloor.toFixed(3)} ms, ${(nodeFloor / nettleFloor).toFixed(1)}x faster`
      : 'Nettle: not built (apt-get install nettle-dev libgmp-dev, then npm run install)'),
);
console.log(
  `budget (DESIGN.md): under ${BUDGET_MS} ms per document warm: slowest ${slowestWarm.toFixed(3)} ms, ${slowestWarm < BUDGET_MS ? 'met' : 'NOT met'}`,
);
