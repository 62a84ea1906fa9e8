import { pcr16For } from '../contract/config-digest';
import type { Nsm } from '../attestation/nsm/nsm';
import { SupervisorError } from './errors';

/** The PCR that carries the runtime configuration's digest (DESIGN.md). */
export const CONFIG_PCR = 16;

/**
 * Extends PCR16 with the configuration digest and locks it, so every later attestation document
 * carries `pcr16For(digest)` and nothing in this enclave can make it say otherwise. A supervisor
 * started again in the same enclave finds PCR16 locked with the same value and goes on; any other
 * value (locked, or already extended with something else) means another configuration was
 * measured, and the supervisor refuses rather than serve under a digest it cannot prove.
 * Returns the PCR16 value.
 */
export async function measureConfig(nsm: Nsm, digest: Uint8Array): Promise<Buffer> {
  const expected = pcr16For(digest);
  const current = await nsm.describePcr(CONFIG_PCR);
  const value = Buffer.from(current.data);
  if (value.equals(expected)) {
    if (!current.locked) await nsm.lockPcr(CONFIG_PCR);
    return expected;
  }
  if (current.locked || !value.equals(Buffer.alloc(expected.length))) {
    throw new SupervisorError(
      'PCR16_CONFLICT',
      `PCR16 already ${current.locked ? 'is locked with' : 'holds'} ${value.toString('hex')}, not the value ${expected.toString('hex')} ` +
        'this configuration yields: another configuration was measured in this enclave. Restart the enclave to change configuration.',
    );
  }
  const extended = Buffer.from(await nsm.extendPcr(CONFIG_PCR, digest));
  await nsm.lockPcr(CONFIG_PCR);
  if (!extended.equals(expected)) {
    throw new SupervisorError('PCR16_CONFLICT', `PCR16 became ${extended.toString('hex')} after extension, not ${expected.toString('hex')}.`);
  }
  return expected;
}
