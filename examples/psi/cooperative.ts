const CHECK_EVERY = 1024;

/**
 * Keeps a long computation from holding the event loop: the loop reports its progress with
 * `due(work)` and, when that answers true, awaits `pause()`, which lets pending I/O run before the
 * next slice. The clock is read only every ~1,000 units of work, so the check costs nearly nothing.
 *
 * @example
 * const pacer = new Pacer();
 * for (const item of items) {
 *   step(item);
 *   if (pacer.due()) await pacer.pause();
 * }
 */
export class Pacer {
  private work = 0;
  private deadline: number;

  /** @param sliceMs longest stretch of synchronous work between two pauses. */
  constructor(private readonly sliceMs = 10) {
    this.deadline = performance.now() + sliceMs;
  }

  due(work = 1): boolean {
    this.work += work;
    if (this.work < CHECK_EVERY) return false;
    this.work = 0;
    return performance.now() >= this.deadline;
  }

  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.deadline = performance.now() + this.sliceMs;
  }
}
