import { randomBytes } from 'node:crypto';
import { covers, generateKeys, issue, lifetimeOf, randomSerial, type Issued, type Level } from './certificates';
import { DevPkiError } from './errors';
import { loadOrCreateRoot, rootPaths } from './root-store';
import { SerialRefresh } from './serial-refresh';

/** How a `DevPki` is opened. */
export interface DevPkiOptions {
  /**
   * Directory for the persistent root (local mode passes `.cloister/dev/`); created mode 0700 if
   * absent. The root is created there on first use and reused afterwards.
   */
  dir: string;
  /** The clock, in ms since 1970 (default `Date.now`): certificate windows and document times. */
  now?: () => number;
}

/**
 * The certificate authorities valid at one instant: the instance CA that signs enclave leaves and
 * the `cabundle` a document carries (root first, as the NSM orders it). A new object whenever
 * any CA was reissued, so a leaf can tell that it must be reissued too.
 */
export interface Authority {
  readonly instance: Issued;
  readonly cabundle: readonly Buffer[];
}

const INTERMEDIATES = ['regional', 'zonal', 'instance'] as const;
/** The level each CA signs, whose lifetime it must outlast. */
const CHILD: Record<(typeof INTERMEDIATES)[number], Level> = { regional: 'zonal', zonal: 'instance', instance: 'leaf' };

/**
 * The development certificate authority, shaped like AWS's Nitro PKI: a persistent root
 * (CN=cloister-dev-root) and, per process, a regional (pathLen 2), a zonal (pathLen 1) and an
 * instance CA (pathLen 0). Each CA is reissued, with those below it, before it could no longer
 * cover a full-length certificate of the level below, so a long-running process never signs
 * with an expired chain.
 */
export class DevPki {
  /** DER of the root certificate: what a client pins (`--root`) to trust development documents. */
  readonly rootCertificateDer: Buffer;
  /** The root certificate as PEM. */
  readonly rootCertificatePem: string;
  /** Path of the root certificate file (`<dir>/root/cert.pem`), to hand to clients as `--root`. */
  readonly rootCertificatePath: string;
  /** This development "EC2 instance": the prefix of module ids, the subject of the instance CA. */
  readonly instanceId: string;
  /** The clock every certificate window and document timestamp is read from. */
  readonly now: () => number;

  private readonly chain = new SerialRefresh<{ cas: readonly Issued[]; authority: Authority }>();

  private constructor(
    private readonly root: Issued,
    certificatePath: string,
    now: () => number,
  ) {
    this.rootCertificateDer = root.der;
    this.rootCertificatePem = root.certificate.toString('pem') + '\n';
    this.rootCertificatePath = certificatePath;
    this.now = now;
    this.instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
  }

  /**
   * Loads the root from `options.dir`, creating it on first use. Throws `DevPkiError` if the
   * stored root is unreadable or corrupt (it is never replaced) or not valid now.
   */
  static async open(options: DevPkiOptions): Promise<DevPki> {
    const now = options.now ?? Date.now;
    const root = await loadOrCreateRoot(options.dir, async () =>
      issue({ level: 'root', id: 'root', serial: randomSerial(16), at: now(), keys: await generateKeys(true) }),
    );
    const pki = new DevPki(root, rootPaths(options.dir).certificate, now);
    pki.checkRoot(now());
    return pki;
  }

  /**
   * The CAs valid at `at` (ms), reissuing any that expire too soon to sign the level below. For
   * the enclaves' leaf issuers; it hands out the instance CA's signing key.
   */
  async authorityAt(at: number): Promise<Authority> {
    const chain = await this.chain.refresh(async (current) => {
      this.checkRoot(at);
      const cas: Issued[] = [];
      let issuer = this.root;
      let reissued = false;
      for (const [i, level] of INTERMEDIATES.entries()) {
        const existing = current?.cas[i];
        // A reissued CA has a new key, so everything below it must be reissued as well.
        reissued ||= !existing || !covers(existing, at, lifetimeOf(CHILD[level]));
        const ca = !reissued && existing ? existing : await this.issueCa(level, at, issuer);
        cas.push(ca);
        issuer = ca;
      }
      if (current && !reissued) return current;
      return { cas, authority: { instance: issuer, cabundle: [this.root.der, ...cas.map((ca) => ca.der)] } };
    });
    return chain.authority;
  }

  private async issueCa(level: (typeof INTERMEDIATES)[number], at: number, issuer: Issued): Promise<Issued> {
    const id = level === 'instance' ? this.instanceId : randomBytes(8).toString('hex');
    const serial = randomSerial(level === 'instance' ? 20 : 16);
    return issue({ level, id, serial, at, keys: await generateKeys(false), issuer });
  }

  private checkRoot(at: number): void {
    if (!covers(this.root, at, lifetimeOf('regional'))) {
      throw new DevPkiError(
        'ROOT_EXPIRED',
        `The development root in ${this.rootCertificatePath} is valid from ${iso(this.root.notBefore)} to ${iso(this.root.notAfter)}, ` +
          `which does not cover ${iso(at)} plus the ${lifetimeOf('regional') / 86_400_000}-day life of a regional CA. ` +
          'Fix the clock, or delete the root directory to create a new root (clients must then pin the new one).',
      );
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
