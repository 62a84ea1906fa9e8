import { CodedError } from '../../contract/coded-error';

/**
 * The Nitro Secure Module operations an enclave uses. Two drivers implement it with the same
 * behaviour: the real device (`/dev/nsm`, through a native addon) and the development NSM (local
 * mode and tests), so code above never knows which one it has.
 */
export interface Nsm {
  /**
   * A signed attestation document (COSE_Sign1 bytes) carrying the given fields, each at most
   * 1024 bytes; absent ones are null in the document.
   */
  attestation(request: { userData?: Uint8Array; nonce?: Uint8Array; publicKey?: Uint8Array }): Promise<Uint8Array>;
  /** The current value of a PCR and whether it is locked. */
  describePcr(index: number): Promise<{ locked: boolean; data: Uint8Array }>;
  /** PCR[index] = SHA-384(PCR[index] ‖ data); returns the new value. Only unlocked PCRs 16–31. */
  extendPcr(index: number, data: Uint8Array): Promise<Uint8Array>;
  /** Locks a PCR so it can no longer be extended. */
  lockPcr(index: number): Promise<void>;
  /** Random bytes from the NSM's generator (up to 256 per call). */
  getRandom(): Promise<Uint8Array>;
}

/**
 * The NSM's own error names (its `{"Error": name}` response), plus the driver's own conditions.
 */
export type NsmErrorCode =
  | 'InvalidArgument'
  | 'InvalidIndex'
  | 'InvalidResponse'
  | 'ReadOnlyIndex'
  | 'InvalidOperation'
  | 'BufferTooSmall'
  | 'InputTooLarge'
  | 'InternalError'
  /** No `/dev/nsm` here: not inside a Nitro Enclave, or the addon was not built on this platform. */
  | 'DEVICE_ABSENT'
  /** The ioctl itself failed (errno in the message). */
  | 'DEVICE_ERROR';

/** A refusal or failure from an NSM driver, with the NSM's error name as code. */
export class NsmError extends CodedError<NsmErrorCode> {}
