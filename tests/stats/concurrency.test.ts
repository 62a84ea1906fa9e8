import type { TestServer } from '../../express/testing';
import { referenceAggregate } from './reference';
import { ROLE, createComputation, extraAnalysts, result, statsServer, submit, submitRaw, uniqueName } from './support';

let t: TestServer;
beforeAll(async () => {
  ({ server: t } = await statsServer(20));
});
afterAll(() => t.close());

const everyone = ['gina', 'hank', 'ivan', ...extraAnalysts(20)];
const QUORUM = 7;

/** Everyone submits at once; returns who was accepted, after checking the rest were refused as closed. */
async function race(name: string, bodyOf: (who: string, i: number) => string): Promise<string[]> {
  const answers = await Promise.all(everyone.map((who, i) => submitRaw(t, who, name, bodyOf(who, i))));
  const accepted = everyone.filter((_, i) => answers[i]!.status === 201);
  const refused = answers.filter((a) => a.status !== 201);
  expect(accepted).toHaveLength(QUORUM);
  expect(refused.map((a) => [a.status, a.body.error])).toEqual(Array(everyone.length - QUORUM).fill([409, 'COMPUTATION_CLOSED']));
  expect(answers.filter((a) => a.status === 201 && a.body.closed)).toHaveLength(1);
  return accepted;
}

describe('simultaneous submissions by every participant', () => {
  const value = (i: number) => `${i % 2 ? '-' : ''}${i * 1_000_003}.${String(i).repeat(3)}`;

  it.each(['sum', 'mean', 'median', 'min', 'max'])('%s: exactly the quorum is accepted and the result is the aggregate of exactly those', async (type) => {
    const name = await createComputation(t, type, everyone, QUORUM);
    const accepted = await race(name, (_who, i) => `{"value": "${value(i)}"}`);
    const entries = accepted.map((who) => [who, value(everyone.indexOf(who))] as [string, string]);
    const expected = referenceAggregate(type, entries);
    for (const who of everyone) expect((await result(t, who, name).expect(200)).body).toEqual({ result: expected, jws: expect.any(String) });
  });

  it('count: exactly the quorum is accepted and the count covers exactly those', async () => {
    const name = await createComputation(t, 'count', everyone, QUORUM);
    const vote = (i: number) => i % 3 === 0;
    const accepted = await race(name, (_who, i) => `{"value": ${vote(i)}}`);
    const expected = accepted.filter((who) => vote(everyone.indexOf(who))).length;
    expect((await result(t, 'gina', name).expect(200)).body).toEqual({ result: expected, jws: expect.any(String) });
  });

  it('keymatch: the same key from everyone at once matches with exactly the quorum, the rest get KEY_CLOSED', async () => {
    const name = await createComputation(t, 'keymatch', everyone, QUORUM);
    const answers = await Promise.all(everyone.map((who) => submit(t, who, name, { key: 'shared', message: `m-${who}` })));
    const accepted = everyone.filter((_, i) => answers[i]!.status === 201).sort();
    expect(accepted).toHaveLength(QUORUM);
    expect(answers.filter((a) => a.status !== 201).map((a) => [a.status, a.body.error])).toEqual(Array(everyone.length - QUORUM).fill([409, 'KEY_CLOSED']));
    const expected = [{ key: 'shared', messages: accepted.map((from) => ({ from, message: `m-${from}` })), jws: expect.any(String) }];
    for (const who of everyone) {
      expect((await result(t, who, name).expect(200)).body).toEqual({ result: accepted.includes(who) ? expected : [] });
    }
  });

  it('one participant submitting twice at once is accepted once', async () => {
    const name = await createComputation(t, 'sum', ['gina', 'hank'], 2);
    const answers = await Promise.all([1, 2, 3, 4].map((v) => submit(t, 'gina', name, { value: v })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.error === 'ALREADY_SUBMITTED')).toBe(true);
    const first = answers.findIndex((a) => a.status === 201) + 1;
    await submit(t, 'hank', name, { value: 10 }).expect(201);
    expect((await result(t, 'hank', name).expect(200)).body).toEqual({ result: String(first + 10), jws: expect.any(String) });
  });

  it('creating the same name at once succeeds exactly once', async () => {
    const name = uniqueName('race');
    const answers = await Promise.all(
      everyone.map((who, i) =>
        t
          .as(who, ROLE)
          .post('/stats/computations')
          .send({ name, type: i % 2 ? 'sum' : 'count', participants: ['gina', who === 'gina' ? 'hank' : who], quorum: 2 }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.body.error === 'COMPUTATION_EXISTS')).toHaveLength(everyone.length - 1);
  });
});
