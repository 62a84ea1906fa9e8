import { KeyObject, randomBytes } from 'node:crypto';
import { covers, generateKeys, issue, lifetimeOf, type Issued } from './certificates';
import type { Authority, DevPki } from './dev-pki';
import { SerialRefresh } from './serial-refresh';

/** Reissue the leaf when less than this remains of its 3 hours (the NSM also rotates early). */
export const DEFAULT_RENEW_BEFORE_MS = 30 * 60_000;

/** What signs one attestation document: the leaf's key, the leaf (DER) and the cabundle (root first). */
export interface DocumentSigner {
  readonly privateKey: KeyObject;
  readonly certificate: Buffer;
  readonly cabundle: readonly Buffer[];
}

interface Leaf {
  readonly authority: Authority;
  readonly issued: Issued;
  readonly signer: DocumentSigner;
}

/**
 * One development enclave's signing identity: its module id (`i-<instance>-enc<16 hex>`, as the
 * NSM forms it) and its 3-hour leaf certificate, issued by the instance CA and reissued when less
 * than `renewBeforeMs` remains, when the clock is before its window, or when a CA above it was
 * reissued.
 */
export class EnclaveSigner {
  /** The enclave's module id, as written in documents and in the leaf's subject. */
  readonly moduleId: string;
  private readonly enclaveId: Buffer;
  private readonly leaf = new SerialRefresh<Leaf>();

  /** Throws a `RangeError` unless `0 <= renewBeforeMs <` the leaf's 3-hour lifetime. */
  constructor(
    private readonly pki: DevPki,
    private readonly renewBeforeMs: number = DEFAULT_RENEW_BEFORE_MS,
  ) {
    if (!(Number.isFinite(renewBeforeMs) && renewBeforeMs >= 0 && renewBeforeMs < lifetimeOf('leaf'))) {
      throw new RangeError(`renewBeforeMs must be from 0 to under ${lifetimeOf('leaf')} ms (the leaf's lifetime), got ${renewBeforeMs}`);
    }
    this.enclaveId = randomBytes(8);
    // Leads the leaf's serial number, which must stay a positive DER INTEGER of full length.
    this.enclaveId[0] = this.enclaveId[0]! & 0x7f || 0x01;
    this.moduleId = `${pki.instanceId}-enc${this.enclaveId.toString('hex')}`;
  }

  /** The key, leaf and cabundle to sign a document dated `at` (ms) with. */
  async signerAt(at: number): Promise<DocumentSigner> {
    const leaf = await this.leaf.refresh(async (current) => {
      const authority = await this.pki.authorityAt(at);
      if (current && current.authority === authority && covers(current.issued, at, this.renewBeforeMs)) return current;
      const issued = await issue({
        level: 'leaf',
        id: this.moduleId,
        serial: this.leafSerial(at),
        at,
        keys: await generateKeys(false),
        issuer: authority.instance,
      });
      const signer = { privateKey: KeyObject.from(issued.keys.privateKey), certificate: issued.der, cabundle: authority.cabundle };
      return { authority, issued, signer };
    });
    return leaf.signer;
  }

  /**
   * The NSM's leaf serial layout: the enclave id, four zero bytes, then the issue time in seconds
   * (32 bits), so successive leaves of one enclave have distinct serials.
   */
  private leafSerial(at: number): string {
    const serial = Buffer.alloc(16);
    this.enclaveId.copy(serial, 0);
    serial.writeUInt32BE(Math.floor(at / 1000) >>> 0, 12);
    return serial.toString('hex');
  }
}
