import { openNsmDevice, NSM_DEVICE_PATH, type NsmDevice } from './native/addon';
import { NsmError, type Nsm } from './nsm';
import { decodeResponse, encodeRequest, type NsmDescription, type NsmRequest, type NsmRequestType, type NsmResponses } from './protocol';

/** Sends one CBOR request to an NSM and returns its CBOR response. */
export type NsmTransport = (request: Uint8Array) => Promise<Uint8Array> | Uint8Array;

export interface DeviceNsmOptions {
  /**
   * Where requests go. By default the real device through the native addon, opened on first use;
   * tests inject a function instead.
   */
  transport?: NsmTransport;
  /** The device to open when no transport is given (default `/dev/nsm`). */
  devicePath?: string;
}

/**
 * The Nitro Secure Module of the enclave this process runs in, through `/dev/nsm`. Nothing is
 * loaded or opened until the first call. Every failure is an `NsmError`: the NSM's own error name;
 * `InvalidArgument` / `InputTooLarge` for a request refused before it is sent; `InvalidResponse`
 * for an answer that is not the documented one; `DEVICE_ABSENT` outside an enclave (or without the
 * addon); `DEVICE_ERROR` when the ioctl fails.
 */
export class DeviceNsm implements Nsm {
  private readonly transport: NsmTransport;
  private readonly device: NsmDevice | undefined;

  constructor(options: DeviceNsmOptions = {}) {
    if (options.transport) {
      this.transport = options.transport;
    } else {
      const device = openNsmDevice(options.devicePath ?? NSM_DEVICE_PATH);
      this.device = device;
      this.transport = (request) => device.send(request);
    }
  }

  async attestation(request: { userData?: Uint8Array; nonce?: Uint8Array; publicKey?: Uint8Array }): Promise<Uint8Array> {
    if (request === null || typeof request !== 'object') {
      throw new NsmError('InvalidArgument', 'attestation() takes an object {userData?, nonce?, publicKey?}.');
    }
    return this.call({ type: 'Attestation', userData: request.userData, nonce: request.nonce, publicKey: request.publicKey });
  }

  async describePcr(index: number): Promise<{ locked: boolean; data: Uint8Array }> {
    return this.call({ type: 'DescribePCR', index });
  }

  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    return this.call({ type: 'ExtendPCR', index, data });
  }

  async lockPcr(index: number): Promise<void> {
    return this.call({ type: 'LockPCR', index });
  }

  /** Locks PCRs 0 to range - 1 at once. */
  async lockPcrs(range: number): Promise<void> {
    return this.call({ type: 'LockPCRs', range });
  }

  async getRandom(): Promise<Uint8Array> {
    return this.call({ type: 'GetRandom' });
  }

  /** The module's version, id, PCR count, locked PCRs and digest. */
  async describeNsm(): Promise<NsmDescription> {
    return this.call({ type: 'DescribeNSM' });
  }

  /** Closes the device (after requests in flight); a later call opens it again. */
  async close(): Promise<void> {
    await this.device?.close();
  }

  private async call<T extends NsmRequestType>(request: Extract<NsmRequest, { type: T }>): Promise<NsmResponses[T]> {
    const bytes = encodeRequest(request);
    let response: Uint8Array;
    try {
      response = await this.transport(bytes);
    } catch (e) {
      if (e instanceof NsmError) throw e;
      throw new NsmError('DEVICE_ERROR', `Sending ${request.type} to the NSM failed: ${e instanceof Error ? e.message : String(e)}.`, {
        cause: e,
      });
    }
    return decodeResponse(request.type as T, response);
  }
}
