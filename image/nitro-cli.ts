import type { Pcrs } from './pcrs';
import { ToolError, parseToolJson, runTool } from './run-tool';

const PCR_HEX = /^[0-9a-f]{96}$/;

/** The PCRs of `nitro-cli build-enclave` (or describe-eif) JSON: `{"Measurements": {"PCR0": …}}`. */
export function readMeasurements(output: unknown): Pcrs {
  const measurements = (output as { Measurements?: unknown } | null)?.Measurements;
  if (typeof measurements !== 'object' || measurements === null) throw new ToolError('nitro-cli build-enclave printed no "Measurements"', 1);
  const pcrs: Pcrs = {};
  for (const [name, value] of Object.entries(measurements as Record<string, unknown>)) {
    if (!/^PCR\d{1,2}$/.test(name)) continue;
    const hex = typeof value === 'string' ? value.toLowerCase() : '';
    if (!PCR_HEX.test(hex)) throw new ToolError(`nitro-cli build-enclave printed ${name} = ${JSON.stringify(value)}, not 96 hex digits`, 1);
    pcrs[name as `PCR${number}`] = hex;
  }
  for (const name of ['PCR0', 'PCR1', 'PCR2']) {
    if (!(name in pcrs)) throw new ToolError(`nitro-cli build-enclave printed no ${name}`, 1);
  }
  return pcrs;
}

/** `nitro-cli build-enclave` of an image into `eif`: nitro-cli's own PCRs, to compare with ours. */
export async function nitroCliBuild(image: string, eif: string): Promise<Pcrs> {
  const { stdout } = await runTool('nitro-cli', ['build-enclave', '--docker-uri', image, '--output-file', eif]);
  return readMeasurements(parseToolJson('nitro-cli build-enclave', stdout));
}
