/** Beyond this many tracked clients, idle ones are forgotten; a flood of new addresses cannot grow memory without bound. */
const MAX_TRACKED_CLIENTS = 10_000;
/** Looking for idle clients walks them all, so a flood of new addresses may trigger it at most this often. */
const SWEEP_INTERVAL_MS = 1_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
}

/** The answer to one request for a token. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Token buckets that let each client make `perClientPerMinute` requests a minute (in bursts of up
 * to that many) and everyone together `overallPerMinute`. Behind the parent's bridge every client
 * may share one address, which is why the overall budget exists at all: it is what protects the
 * NSM, the one device that signs every attestation document.
 */
export class RateLimit {
  private readonly clients = new Map<string, Bucket>();
  private readonly overall: Bucket;
  private lastSweep = -Infinity;

  constructor(
    private readonly perClientPerMinute: number,
    private readonly overallPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    for (const [what, value] of [
      ['perClientPerMinute', perClientPerMinute],
      ['overallPerMinute', overallPerMinute],
    ] as const) {
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a positive number; got ${value}.`);
    }
    this.overall = { tokens: overallPerMinute, at: now() };
  }

  /** Takes a token for `client` (e.g. its IP address), or says how long to wait for one. */
  take(client: string): RateDecision {
    const at = this.now();
    refill(this.overall, this.overallPerMinute, at);
    let bucket = this.clients.get(client);
    if (bucket) refill(bucket, this.perClientPerMinute, at);
    else {
      if (this.clients.size >= MAX_TRACKED_CLIENTS && at - this.lastSweep >= SWEEP_INTERVAL_MS) this.forgetIdle(at);
      bucket = { tokens: this.perClientPerMinute, at };
      // Still full of busy clients: this one is served from the overall budget alone, untracked.
      if (this.clients.size < MAX_TRACKED_CLIENTS) this.clients.set(client, bucket);
    }
    if (bucket.tokens < 1) return wait(bucket, this.perClientPerMinute);
    if (this.overall.tokens < 1) return wait(this.overall, this.overallPerMinute);
    bucket.tokens -= 1;
    this.overall.tokens -= 1;
    return { allowed: true };
  }

  /** A client whose bucket has refilled is indistinguishable from one never seen. */
  private forgetIdle(at: number): void {
    this.lastSweep = at;
    for (const [client, bucket] of this.clients) {
      refill(bucket, this.perClientPerMinute, at);
      if (bucket.tokens >= this.perClientPerMinute) this.clients.delete(client);
    }
  }
}

function refill(bucket: Bucket, perMinute: number, at: number): void {
  bucket.tokens = Math.min(perMinute, bucket.tokens + ((at - bucket.at) * perMinute) / 60_000);
  bucket.at = at;
}

function wait(bucket: Bucket, perMinute: number): RateDecision {
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / perMinute)) };
}
