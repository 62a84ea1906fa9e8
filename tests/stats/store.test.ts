import Big from 'big.js';
import { HttpError } from '../../express/http-error';
import { Computations, DecimalComputation } from '../../examples/stats/computations';
import { testResultSigner } from '../../express/testing';

const spec = (name: string) => ({ name, type: 'sum' as const, participants: ['a', 'b'], quorum: 2 });
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof HttpError ? [e.status, e.code] : e;
  }
  return undefined;
};

describe('Computations store limits', () => {
  const lifecycle = (maxLive: number, maxPerCaller: number) => ({ ttlMs: 60_000, maxLive, maxPerCaller, maxBytes: 1 << 30, maxBytesPerCaller: 1 << 30 });

  it('refuses to hold more than its limits of live computations, overall and per creator (429)', () => {
    const store = new Computations({ lifecycle: lifecycle(3, 2), maxKeysPerParticipant: 1 }, testResultSigner());
    store.create(spec('one'), 'x');
    store.create(spec('two'), 'x');
    expect(codeOf(() => store.create(spec('three'), 'x'))).toEqual([429, 'COMPUTATION_LIMIT_REACHED']);
    store.create(spec('three'), 'y');
    expect(codeOf(() => store.create(spec('four'), 'z'))).toEqual([429, 'COMPUTATION_LIMIT_REACHED']);
    expect(codeOf(() => store.create(spec('one'), 'z'))).toEqual([409, 'COMPUTATION_EXISTS']);
  });

  it('finds a computation only for its participants', () => {
    const store = new Computations({ lifecycle: lifecycle(3, 3), maxKeysPerParticipant: 1 }, testResultSigner());
    store.create(spec('one'), 'x');
    expect(store.find('one', 'a')).toBeInstanceOf(DecimalComputation);
    expect(codeOf(() => store.find('one', 'x'))).toEqual([403, 'NOT_A_PARTICIPANT']);
    expect(codeOf(() => store.find('two', 'a'))).toEqual([404, 'COMPUTATION_NOT_FOUND']);
  });

  it('keeps the result, not the inputs, once the quorum is reached', () => {
    const computation = new DecimalComputation(spec('one'), testResultSigner(), 'sum');
    computation.submit('a', new Big('1.5'));
    expect((computation as unknown as { values: Map<string, Big> }).values.size).toBe(1);
    computation.submit('b', new Big('2'));
    expect((computation as unknown as { values: Map<string, Big> }).values.size).toBe(0);
    expect(computation.result().result).toBe('3.5');
  });
});
