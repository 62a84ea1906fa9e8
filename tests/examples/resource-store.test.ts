import fc from 'fast-check';
import { HttpError } from '../../express';
import { ResourceStore } from '../../examples/lifecycle/resource-store';

const LIMITS = { ttlMs: 60_000, maxLive: 3, maxPerCaller: 2, maxBytes: 1_000, maxBytesPerCaller: 600 };

function refusal(run: () => unknown): HttpError {
  try {
    run();
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('ResourceStore', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('forgets a resource when it expires, and frees its slot', () => {
    const store = new ResourceStore<string>(LIMITS, 'round', 'ROUND_LIMIT_REACHED');
    store.add('a', 'alice', 'A');
    expect(store.expiresAt('a')).toBe(1_000_000 + 60_000);
    jest.advanceTimersByTime(59_999);
    expect(store.get('a')).toBe('A');
    jest.advanceTimersByTime(1);
    expect(store.get('a')).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("answers 429 with Retry-After at a caller's limit, counting only that caller's live resources", () => {
    const store = new ResourceStore<string>(LIMITS, 'round', 'ROUND_LIMIT_REACHED');
    store.add('a', 'alice', 'A');
    jest.advanceTimersByTime(10_000);
    store.add('b', 'alice', 'B');
    const e = refusal(() => store.add('c', 'alice', 'C'));
    expect(e).toMatchObject({ status: 429, code: 'ROUND_LIMIT_REACHED', headers: { 'Retry-After': '50' } });
    expect(e.message).toMatch(/2 live rounds, the most one caller may/);
    store.add('c', 'bob', 'C');
    store.delete('a');
    store.add('d', 'alice', 'D');
  });

  it('answers 429 at the limit of the whole app, Retry-After when the first one expires', () => {
    const store = new ResourceStore<string>(LIMITS, 'session', 'SESSION_LIMIT_REACHED');
    store.add('a', 'alice', 'A');
    jest.advanceTimersByTime(30_000);
    store.add('b', 'bob', 'B');
    store.add('c', 'carol', 'C');
    expect(refusal(() => store.add('d', 'dave', 'D'))).toMatchObject({ status: 429, headers: { 'Retry-After': '30' } });
    jest.advanceTimersByTime(30_000);
    store.add('d', 'dave', 'D');
  });

  it('bounds the bytes held, per creator and overall, with 429; force lets a result replace its data; delete gives bytes back', () => {
    const store = new ResourceStore<string>(LIMITS, 'session', 'TOO_MANY_SESSIONS');
    store.add('a', 'alice', 'A', 500);
    expect(() => store.add('b', 'alice', 'B', 200)).toThrow(
      expect.objectContaining({ status: 429, message: expect.stringMatching(/more than 600 bytes, the most one caller's may/) }),
    );
    expect(store.has('b')).toBe(false);
    store.add('b', 'bob', 'B', 450);
    expect(() => store.resize('b', 600)).toThrow(
      expect.objectContaining({ status: 429, message: expect.stringMatching(/more than 1000 bytes, the most it keeps/) }),
    );
    expect(store.totalBytes).toBe(950);
    store.resize('a', 700, true);
    expect(store.totalBytes).toBe(1150);
    store.resize('a', 100);
    store.delete('b');
    expect(store.totalBytes).toBe(100);
    store.add('c', 'carol', 'C', 600);
  });

  it('never holds more than its limits, whatever the order of adds, deletes and expiries (property)', () => {
    const op = fc.record({
      kind: fc.constantFrom('add', 'delete'),
      id: fc.integer({ min: 0, max: 6 }),
      caller: fc.constantFrom('alice', 'bob', 'carol'),
      waitMs: fc.integer({ min: 0, max: 30_000 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const store = new ResourceStore<number>(LIMITS, 'round', 'ROUND_LIMIT_REACHED');
        const mine = new Map<string, number>();
        for (const { kind, id, caller, waitMs } of ops) {
          const key = `r${id}`;
          if (kind === 'delete') store.delete(key);
          else if (!store.has(key)) {
            try {
              store.add(key, caller, id);
            } catch (e) {
              expect(e).toMatchObject({ status: 429, headers: { 'Retry-After': expect.stringMatching(/^[1-9]\d*$/) } });
            }
          }
          jest.advanceTimersByTime(waitMs);
          expect(store.size).toBeLessThanOrEqual(LIMITS.maxLive);
          mine.clear();
          for (let i = 0; i <= 6; i++) {
            const creator = store.creatorOf(`r${i}`);
            if (creator !== undefined) mine.set(creator, (mine.get(creator) ?? 0) + 1);
          }
          for (const count of mine.values()) expect(count).toBeLessThanOrEqual(LIMITS.maxPerCaller);
        }
        for (let i = 0; i <= 6; i++) store.delete(`r${i}`);
      }),
      { numRuns: 200 },
    );
  });
});
