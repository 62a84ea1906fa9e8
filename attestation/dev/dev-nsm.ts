import { createHash, randomBytes } from 'node:crypto';
import { NsmError, type Nsm } from '../nsm/nsm';
import { DevPki, type DevPkiOptions } from './dev-pki';
import { EnclaveSigner } from './enclave-signer';
import { issueDocument } from './issue-document';
import { nsmCbor } from './nsm-cbor';

/** The NSM has 32 PCRs of one SHA-384 digest each. */
const PCR_COUNT = 32;
const PCR_BYTES = 48;
/** PCRs below this are measured at boot and read-only; the enclave may extend and lock the rest. */
const FIRST_WRITABLE_PCR = 16;
/** PCRs that a debug-mode enclave reports as zero (image, kernel, application, signing certificate). */
const DEBUG_ZEROED_PCRS = [0, 1, 2, 8];
/** Each of user_data, nonce and public_key (the specification says 512 in places; the NSM takes 1024). */
const MAX_FIELD_BYTES = 1024;
/** The device refuses larger requests, so the development NSM does too. */
const MAX_REQUEST_BYTES = 4096;
const RANDOM_BYTES = 256;

/** How a `DevNsm` measures and signs. */
export interface DevNsmOptions {
  /** The development CA whose instance CA issues this enclave's leaf. */
  pki: DevPki;
  /**
   * Boot measurements of PCRs 0–15 by index (e.g. `{0: pcr0Hex, 1: pcr1Hex, 2: pcr2Hex}`), 48
   * bytes each as hex or bytes. Unspecified ones are zero: with no PCR0 a document reads as debug
   * mode to verifiers.
   */
  pcrs?: Readonly<Record<number, string | Uint8Array>>;
  /** Debug mode: PCR0, 1, 2 and 8 are zero whatever `pcrs` says, as the NSM reports a debug enclave. */
  debug?: boolean;
  /** Write the payload as an indefinite-length map (`bf … ff`), as newer NSMs do; default definite (`a9`). */
  indefiniteLengthMap?: boolean;
  /** Reissue the 3-hour leaf when less than this many ms remain; default 30 minutes. */
  renewLeafBeforeMs?: number;
}

/**
 * The development NSM: the operations of the real Nitro Secure Module, with its refusals under
 * the same error names, signing documents with the development chain of a `DevPki`. PCRs 0–15
 * are fixed at construction; 16–31 start at zero, extend as SHA-384(old ‖ data) and can be
 * locked. Documents report PCRs 0–15 and every locked PCR above, as the NSM reports "all locked
 * PCRs". The root to pin is `nsm.pki.rootCertificatePem` (or its `rootCertificatePath`).
 */
export class DevNsm implements Nsm {
  /** The development CA, whose root certificate clients pin. */
  readonly pki: DevPki;
  /** This enclave's module id (`i-<instance>-enc<16 hex>`), as written in its documents. */
  readonly moduleId: string;
  private readonly signer: EnclaveSigner;
  private readonly values: Buffer[];
  private readonly locked: boolean[];
  private readonly indefiniteLengthMap: boolean;

  /**
   * Throws `NsmError('InvalidArgument')` for a PCR option that is not a 48-byte value of PCRs
   * 0–15, and a `RangeError` for a leaf renewal margin outside 0 to under 3 hours.
   */
  constructor(options: DevNsmOptions) {
    this.pki = options.pki;
    this.signer = new EnclaveSigner(options.pki, options.renewLeafBeforeMs);
    this.moduleId = this.signer.moduleId;
    this.indefiniteLengthMap = options.indefiniteLengthMap ?? false;
    this.values = Array.from({ length: PCR_COUNT }, () => Buffer.alloc(PCR_BYTES));
    this.locked = Array.from({ length: PCR_COUNT }, (_, i) => i < FIRST_WRITABLE_PCR);
    for (const [key, value] of Object.entries(options.pcrs ?? {})) {
      const index = Number(key);
      if (!/^(0|[1-9]\d*)$/.test(key) || index >= FIRST_WRITABLE_PCR) {
        throw new NsmError('InvalidArgument', `Boot measurements are PCRs 0 to 15; "${key}" is not one of them.`);
      }
      this.values[index] = measurement(index, value);
    }
    if (options.debug) for (const index of DEBUG_ZEROED_PCRS) this.values[index] = Buffer.alloc(PCR_BYTES);
  }

  /** Opens the `DevPki` in `options.dir` (creating its root on first use) and a `DevNsm` on it. */
  static async open(options: Omit<DevNsmOptions, 'pki'> & DevPkiOptions): Promise<DevNsm> {
    return new DevNsm({ ...options, pki: await DevPki.open(options) });
  }

  /**
   * A signed attestation document dated now, carrying the given fields (absent: null). Each
   * field is at most 1024 bytes (`InputTooLarge`); `InternalError` if the development root no
   * longer covers the clock.
   */
  async attestation(request: { userData?: Uint8Array; nonce?: Uint8Array; publicKey?: Uint8Array }): Promise<Uint8Array> {
    const userData = field('user_data', request.userData);
    const nonce = field('nonce', request.nonce);
    const publicKey = field('public_key', request.publicKey);
    const timestamp = this.pki.now();
    const signer = await this.signer.signerAt(timestamp).catch((e: unknown) => {
      // Code above sees only NsmErrors, as from the device; the root's own error stays the cause.
      throw new NsmError('InternalError', `The development NSM cannot sign: ${(e as Error).message}`, { cause: e });
    });
    const pcrs = new Map<number, Uint8Array>();
    for (const [index, value] of this.values.entries()) {
      if (this.locked[index]) pcrs.set(index, value);
    }
    return issueDocument({ moduleId: this.moduleId, timestamp, pcrs, userData, nonce, publicKey }, signer, this.indefiniteLengthMap);
  }

  /** The value of PCR `index` (0–31) and whether it is locked. */
  async describePcr(index: number): Promise<{ locked: boolean; data: Uint8Array }> {
    checkIndex(index);
    // checkIndex admits 0–31, and both arrays hold 32 registers.
    return { locked: this.locked[index]!, data: Buffer.from(this.values[index]!) };
  }

  /**
   * PCR[index] = SHA-384(PCR[index] ‖ data) for an unlocked PCR 16–31; returns the new value.
   * PCRs 0–15 and locked PCRs are `ReadOnlyIndex`.
   */
  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    checkWritable(index);
    if (this.locked[index]) throw new NsmError('ReadOnlyIndex', `PCR${index} is locked and can no longer be extended.`);
    if (!(data instanceof Uint8Array)) throw new NsmError('InvalidArgument', 'The data to extend a PCR with must be bytes.');
    const requestBytes = nsmCbor.encode(
      new Map([
        [
          'ExtendPCR',
          new Map<string, unknown>([
            ['index', index],
            ['data', data],
          ]),
        ],
      ]),
    ).length;
    if (requestBytes > MAX_REQUEST_BYTES) {
      throw new NsmError('InputTooLarge', `${data.length} bytes of data make a ${requestBytes}-byte request; the NSM takes at most ${MAX_REQUEST_BYTES}.`);
    }
    this.values[index] = createHash('sha384').update(this.values[index]!).update(data).digest();
    return Buffer.from(this.values[index]);
  }

  /**
   * Locks PCR `index` (16–31) against further extension; locking it again changes nothing.
   * PCRs 0–15 are `ReadOnlyIndex`: they were locked at boot.
   */
  async lockPcr(index: number): Promise<void> {
    checkWritable(index);
    this.locked[index] = true;
  }

  /** 256 random bytes. */
  async getRandom(): Promise<Uint8Array> {
    return randomBytes(RANDOM_BYTES);
  }
}

function measurement(index: number, value: string | Uint8Array): Buffer {
  if (typeof value === 'string' && /^[0-9a-fA-F]*$/.test(value) && value.length === PCR_BYTES * 2) return Buffer.from(value, 'hex');
  if (value instanceof Uint8Array && value.length === PCR_BYTES) return Buffer.from(value);
  throw new NsmError('InvalidArgument', `PCR${index} must be ${PCR_BYTES} bytes (${PCR_BYTES * 2} hex digits), a SHA-384 digest.`);
}

function field(name: string, value: Uint8Array | undefined): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Uint8Array)) throw new NsmError('InvalidArgument', `${name} must be bytes.`);
  if (value.length > MAX_FIELD_BYTES) {
    throw new NsmError('InputTooLarge', `${name} is ${value.length} bytes; the NSM takes at most ${MAX_FIELD_BYTES}.`);
  }
  // A copy, so the caller changing its buffer before the document is signed changes nothing.
  return Buffer.from(value);
}

/** The NSM's indexes are u16 and it has 32 PCRs: anything else is refused the way it refuses. */
function checkIndex(index: number): void {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 0xffff) {
    throw new NsmError('InvalidArgument', `A PCR index is an integer from 0 to 65535; got ${String(index)}.`);
  }
  if (index >= PCR_COUNT) throw new NsmError('InvalidIndex', `PCR${index} does not exist: the NSM has PCRs 0 to ${PCR_COUNT - 1}.`);
}

function checkWritable(index: number): void {
  checkIndex(index);
  if (index < FIRST_WRITABLE_PCR) {
    throw new NsmError('ReadOnlyIndex', `PCR${index} holds a boot measurement: PCRs 0 to 15 are read-only.`);
  }
}
