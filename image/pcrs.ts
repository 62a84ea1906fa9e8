import { createHash } from 'node:crypto';
import type { Sha384Sink } from './off-thread-sha384';

/** PCR values as hex, keyed as nitro-cli prints them: `PCR0`, `PCR1`, `PCR2`, and `PCR8` for a signed image. */
export type Pcrs = Record<`PCR${number}`, string>;

/** A Nitro boot PCR: the register after one extend of a zeroed register with SHA-384(data). */
export function pcrOfDigest(digest: Buffer): Buffer {
  return createHash('sha384').update(Buffer.alloc(48)).update(digest).digest();
}

/**
 * Measures an EIF's sections as they go by, each hashed once per PCR that covers it:
 * PCR0 kernel ‖ cmdline ‖ every ramdisk, PCR1 kernel ‖ cmdline ‖ ramdisk 0, PCR2 ramdisks 1….
 */
export class PcrMeasurer {
  private readonly pcr1 = createHash('sha384');
  private readonly pcr2 = createHash('sha384');
  private ramdisks = 0;
  private signingCertificate: Buffer | undefined;

  /** `pcr0` may hash on another thread (see OffThreadSha384), since it covers every byte PCR1 and PCR2 do. */
  constructor(private readonly pcr0: Sha384Sink = createHash('sha384')) {}

  /** The hashes a payload of this section feeds; call once at the start of each section. */
  hashesFor(section: 'kernel' | 'cmdline' | 'ramdisk' | 'other'): Sha384Sink[] {
    if (section === 'kernel' || section === 'cmdline') return [this.pcr0, this.pcr1];
    if (section === 'other') return [];
    return this.ramdisks++ === 0 ? [this.pcr0, this.pcr1] : [this.pcr0, this.pcr2];
  }

  /** The DER certificate a signed EIF's signature names: it gives PCR8. */
  signedBy(certificate: Buffer): void {
    this.signingCertificate = certificate;
  }

  digest(): Pcrs {
    const pcrs: Pcrs = {
      PCR0: pcrOfDigest(this.pcr0.digest()).toString('hex'),
      PCR1: pcrOfDigest(this.pcr1.digest()).toString('hex'),
      PCR2: pcrOfDigest(this.pcr2.digest()).toString('hex'),
    };
    if (this.signingCertificate) pcrs.PCR8 = pcrOfDigest(createHash('sha384').update(this.signingCertificate).digest()).toString('hex');
    return pcrs;
  }
}
