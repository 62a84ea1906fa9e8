import type { Response } from 'supertest';
import type { TestServer } from '../../express/testing';
import { createComputation, result, statsServer, submit, submitRaw } from './support';

let t: TestServer;
let logs: Awaited<ReturnType<typeof statsServer>>['logs'];
beforeAll(async () => {
  ({ server: t, logs } = await statsServer());
});
afterAll(() => t.close());

const all = ['gina', 'hank', 'ivan'];

describe('secrecy of submissions', () => {
  it('puts no submitted value, key or message in any log line or error message', async () => {
    const secrets = [
      '31415926535.8979323846',
      '27182818284.5904523536',
      '16180339887.4989484820',
      '5772156649015328606',
      'KEY-7f3a9c-claimant',
      'KEY-b41d77-lonely',
      'MSG-c0ffee-flagged',
      'MSG-deadbe-second',
      'SECRET-VALUE-0x51',
      'MALFORMED-KEY-0x77',
      'TOO-LONG-MSG-0x99',
    ];
    const errors: Response[] = [];
    const refused = async (res: Promise<Response>) => {
      const answer = await res;
      expect(answer.status).toBeGreaterThanOrEqual(400);
      errors.push(answer);
    };

    const sum = await createComputation(t, 'sum', all, 2);
    await submitRaw(t, 'gina', sum, '{"value": 31415926535.8979323846}').expect(201);
    await refused(submit(t, 'hank', sum, { value: 'SECRET-VALUE-0x51' }));
    await refused(submit(t, 'hank', sum, { value: '5772156649015328606', key: 'KEY-7f3a9c-claimant' }));
    await refused(submitRaw(t, 'hank', sum, '{"value": SECRET-VALUE-0x51}'));
    await refused(submit(t, 'gina', sum, { value: '5772156649015328606' }));
    await submit(t, 'hank', sum, { value: '-27182818284.5904523536' }).expect(201);
    await refused(submit(t, 'ivan', sum, { value: '16180339887.4989484820' }));
    await result(t, 'ivan', sum).expect(200);

    for (const type of ['min', 'max', 'median', 'mean']) {
      const name = await createComputation(t, type, all, 3);
      await submit(t, 'gina', name, { value: '16180339887.4989484820' }).expect(201);
      await refused(result(t, 'gina', name));
      await submit(t, 'hank', name, { value: '27182818284.5904523536' }).expect(201);
      await submit(t, 'ivan', name, { value: '5772156649015328606' }).expect(201);
      const answer = (await result(t, 'ivan', name).expect(200)).text;
      // A median or mean is a value by nature; min and max only ever name people.
      if (type === 'min' || type === 'max') expect(answer).not.toMatch(/16180339887|27182818284|5772156649015328606/);
    }

    const keys = await createComputation(t, 'keymatch', all, 2);
    await submit(t, 'gina', keys, { key: 'KEY-7f3a9c-claimant', message: 'MSG-c0ffee-flagged' }).expect(201);
    await submit(t, 'gina', keys, { key: 'KEY-b41d77-lonely', message: 'MSG-deadbe-second' }).expect(201);
    await refused(submit(t, 'gina', keys, { key: 'KEY-7f3a9c-claimant', message: 'MSG-deadbe-second' }));
    await submit(t, 'hank', keys, { key: 'KEY-7f3a9c-claimant', message: 'MSG-deadbe-second' }).expect(201);
    await refused(submit(t, 'ivan', keys, { key: 'KEY-7f3a9c-claimant', message: 'MSG-c0ffee-flagged' }));
    await refused(submit(t, 'ivan', keys, { key: `MALFORMED-KEY-0x77${'x'.repeat(300)}`, message: '' }));
    await refused(submit(t, 'ivan', keys, { key: 'k', message: `TOO-LONG-MSG-0x99${'x'.repeat(300)}` }));
    await refused(submitRaw(t, 'ivan', keys, '{"key": "MALFORMED-KEY-0x77", "message": TOO-LONG-MSG-0x99}'));
    await refused(submit(t, 'mallory', keys, { key: 'KEY-7f3a9c-claimant', message: 'MSG-c0ffee-flagged' }));
    expect((await result(t, 'gina', keys).expect(200)).text).toContain('MSG-c0ffee-flagged');

    // The checks below would be vacuous if nothing were logged.
    expect(logs.lines.filter((l) => String(l.event).startsWith('stats.')).length).toBeGreaterThan(5);
    expect(logs.lines.some((l) => l.event === 'stats.quorum_reached')).toBe(true);
    const logged = logs.text();
    const answered = errors.map((e) => e.text).join('\n');
    expect(errors.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      expect(answered).not.toContain(secret);
    }
  });
});
