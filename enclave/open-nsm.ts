import { DevNsm } from '../attestation/dev';
import { DeviceNsm } from '../attestation/nsm/device-nsm';
import type { Nsm } from '../attestation/nsm/nsm';
import type { SupervisorOptions } from './options';

/**
 * The NSM the options name: the enclave's /dev/nsm, or the development NSM of local mode with its
 * root persisted in `devDir` and the given development PCRs. Code above sees only `Nsm`, so
 * local mode runs the same boot as an enclave.
 */
export async function openNsm(options: Pick<SupervisorOptions, 'nsm' | 'devDir' | 'pcrs'>): Promise<Nsm> {
  if (options.nsm === 'dev') return DevNsm.open({ dir: options.devDir, pcrs: options.pcrs });
  const nsm = new DeviceNsm();
  // Fail at boot, with the driver's DEVICE_ABSENT, rather than on the first client's attestation.
  await nsm.describePcr(0);
  return nsm;
}
