import { fixtureApp } from '../helpers/fixtures';
import { serve, type TestServer } from '../../express/testing';
import { BIDDER, openRound, result, submit } from './support';

let t: TestServer;
beforeAll(async () => {
  t = await serve(fixtureApp().app);
});
afterAll(() => t.close());

const everyone = ['alice', 'bob', 'carol'];

describe('simultaneous requests', () => {
  it('all participants submitting at once give one consistent result', async () => {
    const amounts: Record<string, string> = { alice: '300.25', bob: '300.5', carol: '299.999' };
    const sent = await Promise.all(everyone.map((name) => submit(t, 'default', name, amounts[name])));
    expect(sent.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(sent.map((r) => r.body.missing).sort()).toEqual([0, 1, 2]);

    const reads = await Promise.all(Array.from({ length: 30 }, (_, i) => result(t, 'default', everyone[i % 3]!)));
    for (const r of reads) expect(r.body).toEqual({ richest: ['bob'], jws: expect.any(String) });
  });

  it('the same participant twice at once: one 201, one 409, and the first value stands', async () => {
    for (let i = 0; i < 10; i++) {
      const id = await openRound(t, ['alice', 'bob']);
      const [low, high] = await Promise.all([submit(t, id, 'alice', '10'), submit(t, id, 'alice', '1000')]);
      expect([low.status, high.status].sort()).toEqual([201, 409]);
      expect([low, high].find((r) => r.status === 409)!.body.error).toBe('ALREADY_SUBMITTED');
      await submit(t, id, 'bob', '500').expect(201);
      const expected = high.status === 201 ? ['alice'] : ['bob'];
      expect((await result(t, id, 'alice').expect(200)).body).toEqual({ richest: expected, jws: expect.any(String) });
      expect((await result(t, id, 'bob').expect(200)).body).toEqual({ richest: expected, jws: expect.any(String) });
    }
  });

  it('results read while the last submission lands are either "waiting" or the final answer', async () => {
    const id = await openRound(t, everyone);
    await submit(t, id, 'alice', 5).expect(201);
    await submit(t, id, 'bob', 7).expect(201);
    const [last, ...reads] = await Promise.all([submit(t, id, 'carol', 6), ...Array.from({ length: 20 }, (_, i) => result(t, id, everyone[i % 3]!))]);
    expect(last!.status).toBe(201);
    for (const r of reads) {
      if (r.status === 409) expect(r.body.error).toBe('WAITING_FOR_PARTICIPANTS');
      else expect(r.body).toEqual({ richest: ['bob'], jws: expect.any(String) });
    }
  });

  it('creating the same round id at once: exactly one 201', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t
          .as(everyone[i % 3]!, BIDDER)
          .post('/millionaire/rounds')
          .send({ id: 'contested', participants: i % 2 ? ['alice', 'bob'] : ['bob', 'carol'] }),
      ),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    for (const r of responses) if (r.status !== 201) expect(r.body.error).toBe('ROUND_EXISTS');
    const participants: string[] = created[0]!.body.participants;
    await Promise.all(participants.map((name, i) => submit(t, 'contested', name, i).expect(201)));
    expect((await result(t, 'contested', participants[0]!).expect(200)).body).toEqual({ richest: [participants[1]], jws: expect.any(String) });
  });
});
