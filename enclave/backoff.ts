/** How restarts are spaced. */
export interface BackoffOptions {
  /** The first delay (default 100 ms). */
  initialMs?: number;
  /** The longest delay (default 10 s). */
  maxMs?: number;
  /** A process that ran this long was healthy: its next failure starts over at `initialMs` (default 10 s). */
  stableMs?: number;
}

/**
 * Exponential backoff for restarting a process: `initialMs`, doubling up to `maxMs`, and back to
 * `initialMs` once a run lasted `stableMs`. A crash loop thus costs little CPU, while a rare
 * crash is repaired at once.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;
  private nextMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 100;
    this.maxMs = options.maxMs ?? 10_000;
    this.stableMs = options.stableMs ?? 10_000;
    this.nextMs = this.initialMs;
  }

  /** The delay before the next start, given how long the run that just ended lasted. */
  delayAfter(ranMs: number): number {
    if (ranMs >= this.stableMs) this.nextMs = this.initialMs;
    const delay = this.nextMs;
    this.nextMs = Math.min(this.maxMs, this.nextMs * 2);
    return delay;
  }
}
