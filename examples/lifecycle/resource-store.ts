import { tooManyRequests } from '../../express';

/** How long a resource lives and how many may live at once. */
export interface LifecycleLimits {
  /** A resource expires this long after it was created, result and all. */
  ttlMs: number;
  /** Live resources of the whole app. */
  maxLive: number;
  /** Live resources one caller created. */
  maxPerCaller: number;
  /** Bytes all live resources hold together, as they account for them (`resize`). */
  maxBytes: number;
  /** Bytes the live resources one caller created hold. */
  maxBytesPerCaller: number;
}

interface Entry<T> {
  value: T;
  creator: string;
  expiresAt: number;
  timer: NodeJS.Timeout;
  bytes: number;
}

/**
 * The live resources of one kind (rounds, sessions, computations), by id: each expires `ttlMs`
 * after it was created and is forgotten then, or when deleted, so its memory is freed and its
 * slot counts no more. A limit reached is a 429 whose `Retry-After` is when the first slot that
 * would help frees up by expiry: the app never needs a restart to accept work again.
 */
export class ResourceStore<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly perCaller = new Map<string, number>();
  private readonly bytesPerCaller = new Map<string, number>();
  private bytes = 0;

  /**
   * @param noun what one resource is called in messages ("round")
   * @param limitCode the error code of a 429 (`ROUND_LIMIT_REACHED`)
   */
  constructor(
    private readonly limits: LifecycleLimits,
    private readonly noun: string,
    private readonly limitCode: string,
    /** Told of each resource that expired (not of those deleted). */
    private readonly onExpire: (id: string) => void = () => {},
  ) {}

  /** How many resources live now. */
  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The resource, or undefined when there is none (never created, expired or deleted). */
  get(id: string): T | undefined {
    return this.entries.get(id)?.value;
  }

  /** Who created the resource, or undefined. */
  creatorOf(id: string): string | undefined {
    return this.entries.get(id)?.creator;
  }

  /** When the resource expires (ms since the epoch), or undefined. */
  expiresAt(id: string): number | undefined {
    return this.entries.get(id)?.expiresAt;
  }

  /**
   * Adds a resource `creator` made under a fresh id (the caller checks the id is free), holding
   * `bytes` to begin with. Throws a 429, and adds nothing, when the app or this caller is at its
   * limit of live resources or of bytes.
   */
  add(id: string, creator: string, value: T, bytes = 0): void {
    if (this.entries.has(id)) throw new Error(`${this.noun} ${id} exists already`);
    const mine = this.perCaller.get(creator) ?? 0;
    if (mine >= this.limits.maxPerCaller) {
      throw tooManyRequests(
        this.limitCode,
        `You have ${mine} live ${this.noun}s, the most one caller may; delete one, or try again when one expires.`,
        this.secondsUntilExpiry((entry) => entry.creator === creator),
      );
    }
    if (this.entries.size >= this.limits.maxLive) {
      throw tooManyRequests(
        this.limitCode,
        `This service holds ${this.entries.size} live ${this.noun}s, the most it keeps at once; try again when one expires.`,
        this.secondsUntilExpiry(() => true),
      );
    }
    const expiresAt = Date.now() + this.limits.ttlMs;
    // Unref'd: a pending expiry must not keep a stopping process alive.
    const timer = setTimeout(() => this.expire(id), this.limits.ttlMs).unref();
    this.entries.set(id, { value, creator, expiresAt, timer, bytes: 0 });
    this.perCaller.set(creator, mine + 1);
    try {
      this.resize(id, bytes);
    } catch (e) {
      this.delete(id);
      throw e;
    }
  }

  /** The bytes held by all live resources together. */
  get totalBytes(): number {
    return this.bytes;
  }

  /**
   * Says how many bytes the resource holds now. Growing past the app's or its creator's byte
   * limit is a 429 and changes nothing, unless `force` (for what replaces more than it adds, such
   * as a result that frees the data it was computed from).
   */
  resize(id: string, bytes: number, force = false): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    const growth = bytes - entry.bytes;
    const mine = (this.bytesPerCaller.get(entry.creator) ?? 0) + growth;
    if (growth > 0 && !force) {
      if (mine > this.limits.maxBytesPerCaller) {
        throw tooManyRequests(
          this.limitCode,
          `The ${this.noun}s you created would hold more than ${this.limits.maxBytesPerCaller} bytes, the most one caller's may; delete one, or try again when one expires.`,
          this.secondsUntilExpiry((other) => other.creator === entry.creator && other !== entry),
        );
      }
      if (this.bytes + growth > this.limits.maxBytes) {
        throw tooManyRequests(
          this.limitCode,
          `This service's ${this.noun}s would hold more than ${this.limits.maxBytes} bytes, the most it keeps; try again when one expires.`,
          this.secondsUntilExpiry((other) => other !== entry),
        );
      }
    }
    entry.bytes = bytes;
    this.bytes += growth;
    this.bytesPerCaller.set(entry.creator, mine);
  }

  /** Forgets the resource (deleted or expired); false when there was none. */
  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    clearTimeout(entry.timer);
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    const held = (this.bytesPerCaller.get(entry.creator) ?? 0) - entry.bytes;
    if (held > 0) this.bytesPerCaller.set(entry.creator, held);
    else this.bytesPerCaller.delete(entry.creator);
    const left = (this.perCaller.get(entry.creator) ?? 1) - 1;
    if (left > 0) this.perCaller.set(entry.creator, left);
    else this.perCaller.delete(entry.creator);
    return true;
  }

  private expire(id: string): void {
    this.delete(id);
    this.onExpire(id);
  }

  private secondsUntilExpiry(counts: (entry: Entry<T>) => boolean): number {
    let first = Infinity;
    for (const entry of this.entries.values()) if (counts(entry)) first = Math.min(first, entry.expiresAt);
    return Number.isFinite(first) ? (first - Date.now()) / 1000 : 1;
  }
}
