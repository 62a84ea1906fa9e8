import type { TestServer } from '../../express/testing';
import { createComputation, result, statsServer, submit, submitRaw } from './support';

let t: TestServer;
beforeAll(async () => {
  ({ server: t } = await statsServer());
});
afterAll(() => t.close());

const all = ['gina', 'hank', 'ivan'];

/** Creates a computation of all three analysts, has each submit the raw JSON value given, reads the result. */
async function run(type: string, values: string[], quorum = values.length): Promise<unknown> {
  const name = await createComputation(t, type, all, quorum);
  for (const [i, value] of values.entries()) await submitRaw(t, all[i]!, name, `{"value": ${value}}`).expect(201);
  return (await result(t, 'gina', name).expect(200)).body.result;
}

describe('sum', () => {
  it('adds exactly: 0.1 + 0.2 is 0.3', async () => {
    expect(await run('sum', ['0.1', '0.2'])).toBe('0.3');
    expect(await run('sum', ['"0.1"', '"0.2"'])).toBe('0.3');
  });

  it('keeps numbers no double can hold, given as JSON numbers or strings', async () => {
    expect(await run('sum', ['12345678901234567890.01', '"98765432109876543210.99"', '-0.000000000000000000000000000001'])).toBe(
      '111111111011111111100.999999999999999999999999999999',
    );
  });

  it('handles negatives, a zero sum and trailing zeros', async () => {
    expect(await run('sum', ['"-5.50"', '2.25', '3.25'])).toBe('0');
    expect(await run('sum', ['"-1.10"', '-2.2'])).toBe('-3.3');
    expect(await run('sum', ['"1.000"', '"2.000"'])).toBe('3');
  });

  it('writes large and tiny results in plain notation, never with an exponent', async () => {
    expect(await run('sum', ['1e30', '1'])).toBe('1000000000000000000000000000001');
    expect(await run('sum', ['"0.0000000001"', '"0.0000000002"'])).toBe('0.0000000003');
  });
});

describe('mean', () => {
  it('is exact when it can be, without trailing zeros', async () => {
    expect(await run('mean', ['1', '2'])).toBe('1.5');
    expect(await run('mean', ['"2.50"', '"1.50"'])).toBe('2');
    expect(await run('mean', ['"12345678901234567890.1"', '"12345678901234567890.3"'])).toBe('12345678901234567890.2');
  });

  it('rounds to 20 decimal places, half to even', async () => {
    expect(await run('mean', ['1', '2', '2'])).toBe('1.66666666666666666667');
    expect(await run('mean', ['-1', '-2', '-2'])).toBe('-1.66666666666666666667');
    expect(await run('mean', ['1', '0', '0'])).toBe('0.33333333333333333333');
    // Exactly halfway at the 21st place: up to the even digit 2 here, down to the even digit 2 there.
    expect(await run('mean', ['"0.000000000000000000015"', '"0.000000000000000000015"'])).toBe('0.00000000000000000002');
    expect(await run('mean', ['"0.000000000000000000025"', '"0.000000000000000000025"'])).toBe('0.00000000000000000002');
    expect(await run('mean', ['"0.000000000000000000001"', '"0"'])).toBe('0');
  });
});

describe('median', () => {
  it('is the middle value of an odd count, exactly as submitted but without trailing zeros', async () => {
    expect(await run('median', ['5', '-1', '"3.10"'])).toBe('3.1');
    expect(await run('median', ['"12345678901234567890.123456789"', '1', '"99999999999999999999999"'])).toBe('12345678901234567890.123456789');
  });

  it('is the mean of the two middle values of an even count, rounded half to even at 20 places', async () => {
    expect(await run('median', ['1', '2'])).toBe('1.5');
    expect(await run('median', ['"1.1"', '"1.10"'])).toBe('1.1');
    expect(await run('median', ['"0.000000000000000000003"', '"0"'])).toBe('0');
    expect(await run('median', ['"0.000000000000000000030"', '"0"'])).toBe('0.00000000000000000002');
  });

  it('uses only the first quorum submissions', async () => {
    const name = await createComputation(t, 'median', all, 2);
    await submit(t, 'ivan', name, { value: 10 }).expect(201);
    await submit(t, 'gina', name, { value: 20 }).expect(201);
    await submit(t, 'hank', name, { value: 1000 }).expect(409);
    expect((await result(t, 'hank', name).expect(200)).body).toEqual({ result: '15', jws: expect.any(String) });
  });
});

describe('min and max', () => {
  it('name the submitter of the extreme value, never the value', async () => {
    const name = await createComputation(t, 'max', all, 3);
    await submit(t, 'gina', name, { value: '77.77' }).expect(201);
    await submit(t, 'hank', name, { value: '-123456.5' }).expect(201);
    await submit(t, 'ivan', name, { value: '9876543.21' }).expect(201);
    const res = await result(t, 'hank', name).expect(200);
    expect(res.body).toEqual({ result: { participants: ['ivan'] }, jws: expect.any(String) });
    expect(res.text).not.toContain('9876543');
    expect(await run('min', ['"77.77"', '"-123456.5"', '"9876543.21"'])).toEqual({ participants: ['hank'] });
  });

  it('name everyone who ties, sorted, also when the values are written differently', async () => {
    expect(await run('min', ['"1.0"', '5', '1'])).toEqual({ participants: ['gina', 'ivan'] });
    expect(await run('max', ['"-0"', '0', '"0.000"'])).toEqual({ participants: ['gina', 'hank', 'ivan'] });
    expect(await run('max', ['12345678901234567890.000000000000000000001', '"12345678901234567890.000000000000000000001"', '12345678901234567890'])).toEqual({
      participants: ['gina', 'hank'],
    });
  });
});

describe('count', () => {
  it('counts the participants who submitted true', async () => {
    expect(await run('count', ['true', 'false', 'true'])).toBe(2);
    expect(await run('count', ['false', 'false'], 2)).toBe(0);
    expect(await run('count', ['true', 'true', 'true'])).toBe(3);
  });

  it('refuses anything but a boolean with 400 naming the field', async () => {
    const name = await createComputation(t, 'count', all, 2);
    for (const value of ['"true"', '1', 'null', '0']) {
      const res = await submitRaw(t, 'gina', name, `{"value": ${value}}`).expect(400);
      expect(res.body.error).toBe('INVALID_BODY');
      expect(res.body.details).toEqual([{ field: 'value', message: expect.any(String) }]);
    }
    await submit(t, 'gina', name, { value: true }).expect(201);
  });
});

describe('quorum and locking', () => {
  it('answers 409 WAITING_FOR_QUORUM with the number still needed, then the locked result to every participant', async () => {
    const name = await createComputation(t, 'sum', all, 3);
    let waiting = await result(t, 'gina', name).expect(409);
    expect(waiting.body).toEqual({ error: 'WAITING_FOR_QUORUM', message: expect.stringContaining('3 more submissions are needed') });
    const first = await submit(t, 'gina', name, { value: '1.5' }).expect(201);
    expect(first.body).toEqual({ computation: name, submissions: 1, quorum: 3, closed: false });
    await submit(t, 'hank', name, { value: '2.5' }).expect(201);
    waiting = await result(t, 'hank', name).expect(409);
    expect(waiting.body.message).toContain('1 more submission is needed');
    const last = await submit(t, 'ivan', name, { value: '-1' }).expect(201);
    expect(last.body).toEqual({ computation: name, submissions: 3, quorum: 3, closed: true });
    for (const who of all) expect((await result(t, who, name).expect(200)).body).toEqual({ result: '3', jws: expect.any(String) });
  });

  it('refuses submissions after the quorum with 409 COMPUTATION_CLOSED and keeps the result', async () => {
    const name = await createComputation(t, 'mean', all, 2);
    await submit(t, 'gina', name, { value: 4 }).expect(201);
    await submit(t, 'hank', name, { value: 6 }).expect(201);
    const late = await submit(t, 'ivan', name, { value: 1000 }).expect(409);
    expect(late.body).toEqual({ error: 'COMPUTATION_CLOSED', message: expect.any(String) });
    expect((await result(t, 'ivan', name).expect(200)).body).toEqual({ result: '5', jws: expect.any(String) });
  });

  it('accepts one submission per participant: 409 ALREADY_SUBMITTED, and the first stands', async () => {
    const name = await createComputation(t, 'sum', all, 2);
    await submit(t, 'gina', name, { value: 1 }).expect(201);
    const again = await submit(t, 'gina', name, { value: 100 }).expect(409);
    expect(again.body).toEqual({ error: 'ALREADY_SUBMITTED', message: expect.any(String) });
    await submit(t, 'hank', name, { value: 2 }).expect(201);
    expect((await submit(t, 'gina', name, { value: 100 }).expect(409)).body.error).toBe('ALREADY_SUBMITTED');
    expect((await result(t, 'gina', name).expect(200)).body).toEqual({ result: '3', jws: expect.any(String) });
  });

  it('answers 400 naming the field to a body of the wrong shape, and counts nothing', async () => {
    const name = await createComputation(t, 'sum', all, 2);
    const cases: [string, string[]][] = [
      ['{"value": "12,5"}', ['value']],
      ['{"value": "1e5"}', ['value']],
      ['{"value": true}', ['value']],
      ['{"value": 1e999}', ['value']],
      [`{"value": "${'9'.repeat(101)}"}`, ['value']],
      ['{"value": 1, "key": "k"}', ['']],
      ['{"key": "k", "message": "m"}', ['value', '']],
      ['{}', ['value']],
      ['[1]', ['']],
    ];
    for (const [json, fields] of cases) {
      const res = await submitRaw(t, 'gina', name, json).expect(400);
      expect(res.body.error).toBe('INVALID_BODY');
      expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(fields.sort());
    }
    expect((await result(t, 'gina', name).expect(409)).body.message).toContain('2 more submissions');
    await submit(t, 'gina', name, { value: 1 }).expect(201);
  });

  it('answers 413 to a submission over the JSON limit', async () => {
    const name = await createComputation(t, 'sum', all, 2);
    const res = await submit(t, 'gina', name, { value: 1, padding: 'x'.repeat((1 << 20) + 1) }).expect(413);
    expect(res.body.error).toBe('BODY_TOO_LARGE');
  });
});
