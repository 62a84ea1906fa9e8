import { Backoff } from '../../enclave/backoff';

describe('Backoff', () => {
  it('waits 100 ms, then doubles up to 10 s while the process keeps failing quickly', () => {
    const backoff = new Backoff();
    const delays = Array.from({ length: 10 }, () => backoff.delayAfter(50));
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000]);
  });

  it('starts over at the first delay once a run lasted the stable period', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 1_000, stableMs: 5_000 });
    expect([backoff.delayAfter(1), backoff.delayAfter(1), backoff.delayAfter(1)]).toEqual([10, 20, 40]);
    expect(backoff.delayAfter(5_000)).toBe(10);
    expect(backoff.delayAfter(4_999)).toBe(20);
  });
});
