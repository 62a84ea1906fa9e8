import type { TestServer } from '../../express/testing';
import { createComputation, result, statsServer, submit, submitRaw } from './support';

let t: TestServer;
beforeAll(async () => {
  ({ server: t } = await statsServer(1, { maxKeysPerParticipant: 3 }));
});
afterAll(() => t.close());

const all = ['gina', 'hank', 'ivan', 'analyst01'];
const keyIn = (name: string) => createComputation(t, 'keymatch', all, 2, name);
/** The caller's matches without their signed results, once each is checked to carry one. */
const matches = async (who: string, name: string) =>
  ((await result(t, who, name).expect(200)).body.result as { key: string; messages: { from: string; message: string }[]; jws: unknown }[]).map(
    ({ jws, ...match }) => {
      expect(jws).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
      return match;
    },
  );

describe('keymatch', () => {
  it('shows a key only once the quorum submitted it, only to its submitters, with every message', async () => {
    const name = await keyIn('claims');
    const first = await submit(t, 'hank', name, { key: 'claimant-42', message: 'hank flagged this' }).expect(201);
    expect(first.body).toEqual({ computation: name, matched: false, keysSubmitted: 1, maxKeys: 3 });
    expect(await matches('hank', name)).toEqual([]);

    const second = await submit(t, 'gina', name, { key: 'claimant-42', message: 'gina too ✓' }).expect(201);
    expect(second.body).toEqual({ computation: name, matched: true, keysSubmitted: 1, maxKeys: 3 });
    const expected = [
      {
        key: 'claimant-42',
        messages: [
          { from: 'gina', message: 'gina too ✓' },
          { from: 'hank', message: 'hank flagged this' },
        ],
      },
    ];
    expect(await matches('gina', name)).toEqual(expected);
    expect(await matches('hank', name)).toEqual(expected);
    expect(await matches('ivan', name)).toEqual([]);
  });

  it('locks a matched key: a later submitter gets 409 KEY_CLOSED and the messages stay as they were', async () => {
    const name = await keyIn('locked');
    await submit(t, 'gina', name, { key: 'k', message: 'from gina' }).expect(201);
    await submit(t, 'hank', name, { key: 'k', message: 'from hank' }).expect(201);
    const late = await submit(t, 'ivan', name, { key: 'k', message: 'from ivan' }).expect(409);
    expect(late.body).toEqual({ error: 'KEY_CLOSED', message: expect.any(String) });
    expect(await matches('ivan', name)).toEqual([]);
    expect(await matches('gina', name)).toEqual([
      {
        key: 'k',
        messages: [
          { from: 'gina', message: 'from gina' },
          { from: 'hank', message: 'from hank' },
        ],
      },
    ]);
    // The refused key used none of ivan's allowance.
    for (const key of ['a', 'b', 'c']) await submit(t, 'ivan', name, { key, message: '' }).expect(201);
  });

  it('lists only the matched keys the caller submitted, sorted by key', async () => {
    const name = await keyIn('sorted');
    const send = (who: string, key: string) => submit(t, who, name, { key, message: `${who}:${key}` }).expect(201);
    await send('ivan', 'zeta');
    await send('analyst01', 'zeta');
    await send('ivan', 'alpha');
    await send('gina', 'alpha');
    await send('ivan', 'Beta');
    await send('gina', 'zeta-below-quorum');
    await send('hank', 'Beta');
    const keys = (body: { key: string }[]) => body.map((m) => m.key);
    expect(keys(await matches('ivan', name))).toEqual(['Beta', 'alpha', 'zeta']);
    expect(keys(await matches('gina', name))).toEqual(['alpha']);
    expect(keys(await matches('hank', name))).toEqual(['Beta']);
    expect(keys(await matches('analyst01', name))).toEqual(['zeta']);
  });

  it('matches keys exactly: no trimming or case-folding', async () => {
    const name = await keyIn('exact');
    await submit(t, 'gina', name, { key: 'Key', message: '' }).expect(201);
    await submit(t, 'hank', name, { key: 'key', message: '' }).expect(201);
    await submit(t, 'ivan', name, { key: 'Key ', message: '' }).expect(201);
    for (const who of ['gina', 'hank', 'ivan']) expect(await matches(who, name)).toEqual([]);
  });

  it('takes each key once per participant: 409 KEY_ALREADY_SUBMITTED, and the first message stands', async () => {
    const name = await keyIn('repeat');
    await submit(t, 'gina', name, { key: 'k', message: 'first' }).expect(201);
    const again = await submit(t, 'gina', name, { key: 'k', message: 'second' }).expect(409);
    expect(again.body).toEqual({ error: 'KEY_ALREADY_SUBMITTED', message: expect.any(String) });
    await submit(t, 'hank', name, { key: 'k', message: 'hank' }).expect(201);
    expect((await submit(t, 'gina', name, { key: 'k', message: 'third' }).expect(409)).body.error).toBe('KEY_ALREADY_SUBMITTED');
    expect(await matches('hank', name)).toEqual([
      {
        key: 'k',
        messages: [
          { from: 'gina', message: 'first' },
          { from: 'hank', message: 'hank' },
        ],
      },
    ]);
  });

  it('limits the keys per participant: 409 KEY_LIMIT_REACHED after maxKeysPerParticipant', async () => {
    const name = await keyIn('limit');
    for (const key of ['a', 'b', 'c']) await submit(t, 'gina', name, { key, message: '' }).expect(201);
    const over = await submit(t, 'gina', name, { key: 'd', message: '' }).expect(409);
    expect(over.body).toEqual({ error: 'KEY_LIMIT_REACHED', message: expect.stringContaining('3 keys') });
    await submit(t, 'hank', name, { key: 'd', message: '' }).expect(201);
    await submit(t, 'hank', name, { key: 'a', message: '' }).expect(201);
    expect((await matches('gina', name)).map((m: { key: string }) => m.key)).toEqual(['a']);
  });

  it('bounds keys and messages: 400 naming the field', async () => {
    const name = await keyIn('bounds');
    await submit(t, 'gina', name, { key: 'k'.repeat(256), message: 'é'.repeat(140) }).expect(201);
    const cases: [object, string[]][] = [
      [{ key: '', message: '' }, ['key']],
      [{ key: 'k'.repeat(257), message: '' }, ['key']],
      [{ key: 'k', message: 'é'.repeat(141) }, ['message']],
      [{ key: 'k', message: 'x'.repeat(281) }, ['message']],
      [{ key: 'k' }, ['message']],
      [{ key: 7, message: 'm' }, ['key']],
      [{ key: 'k', message: null }, ['message']],
      [{ value: 1 }, ['', 'key', 'message']],
      [{ key: 'k', message: 'm', value: 1 }, ['']],
    ];
    for (const [body, fields] of cases) {
      const res = await submit(t, 'hank', name, body).expect(400);
      expect(res.body.error).toBe('INVALID_BODY');
      expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(fields);
    }
    expect((await submitRaw(t, 'hank', name, '"k"').expect(400)).body.error).toBe('INVALID_BODY');
    // None of the refused bodies used hank's allowance of three keys.
    for (const key of ['a', 'b', 'c']) await submit(t, 'hank', name, { key, message: '' }).expect(201);
  });

  it('answers 200 with an empty list before anything matched, and 403 to non-participants', async () => {
    const name = await createComputation(t, 'keymatch', ['gina', 'hank'], 2);
    expect(await matches('gina', name)).toEqual([]);
    expect((await result(t, 'ivan', name).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
    expect((await submit(t, 'ivan', name, { key: 'k', message: '' }).expect(403)).body.error).toBe('NOT_A_PARTICIPANT');
  });

  it('needs all of a larger quorum', async () => {
    const name = await createComputation(t, 'keymatch', all, 3);
    await submit(t, 'gina', name, { key: 'k', message: '1' }).expect(201);
    await submit(t, 'hank', name, { key: 'k', message: '2' }).expect(201);
    expect(await matches('gina', name)).toEqual([]);
    expect((await submit(t, 'analyst01', name, { key: 'k', message: '3' }).expect(201)).body.matched).toBe(true);
    expect((await matches('hank', name))[0]!.messages.map((m: { from: string }) => m.from)).toEqual(['analyst01', 'gina', 'hank']);
    expect((await submit(t, 'ivan', name, { key: 'k', message: '4' }).expect(409)).body.error).toBe('KEY_CLOSED');
  });
});

describe('the bytes keymatch computations hold', () => {
  it("answers 429 once the keys and messages of a creator's computations would hold more than maxBytesPerCaller", async () => {
    const { server: small } = await statsServer(0, { maxBytesPerCaller: 4_000 });
    try {
      const name = await createComputation(small, 'keymatch', ['gina', 'hank'], 2);
      let accepted = 0;
      let refusal: { status: number; body: { error: string } } | undefined;
      for (let i = 0; i < 40 && refusal === undefined; i++) {
        const res = await submit(small, 'gina', name, { key: `key-${i}`, message: 'm'.repeat(100) });
        if (res.status === 201) accepted++;
        else refusal = res;
      }
      expect(accepted).toBeGreaterThan(5);
      expect(refusal).toMatchObject({ status: 429, body: { error: 'COMPUTATION_LIMIT_REACHED' } });
    } finally {
      await small.close();
    }
  });
});
