/**
 * A value replaced by asynchronous refreshes that run one at a time, so concurrent callers never
 * issue the same certificate twice; a refresh that fails leaves the previous value in place for
 * the next caller to try again.
 */
export class SerialRefresh<T> {
  private latest: Promise<T | undefined> = Promise.resolve(undefined);

  /** Runs `update` on the current value (undefined at first) after every earlier refresh. */
  refresh(update: (current: T | undefined) => Promise<T>): Promise<T> {
    const previous = this.latest;
    const next = previous.then(update);
    this.latest = next.catch(() => previous);
    return next;
  }
}
