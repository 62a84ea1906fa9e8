import { readFileSync } from 'node:fs';
import { attestEnclave } from '@evervault/attestation-bindings';
import { readAttestation } from '../../attestation';

/**
 * Runs Evervault's verifier (Rust, attestation-doc-validation) over one document, in a process
 * whose clock libfaketime has set to the document's time: it takes no instant as input, and every
 * stored document has expired by now. It checks structure, COSE signature and chain, then refuses
 * at its last step, binding the document to a TLS certificate the public data does not include
 * (it says where on standard error, straight from Rust). Prints {perDocMs} as JSON.
 */
const [path, count] = [process.argv[2]!, Number(process.argv[3] ?? 500)];
const doc = readFileSync(path);
const { certificate } = readAttestation(doc);
const cert = Buffer.from(certificate);

for (let i = 0; i < Math.min(50, count); i++) attestEnclave(cert, [{}], doc);
const started = process.hrtime.bigint();
for (let i = 0; i < count; i++) attestEnclave(cert, [{}], doc);
const perDocMs = Number(process.hrtime.bigint() - started) / 1e6 / count;
process.stdout.write(`${JSON.stringify({ perDocMs })}\n`);
