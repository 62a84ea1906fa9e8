import type { LogEntry } from '../../../contract/log';
import { parseConfig } from '../../../contract/config';
import { type Stack, request, startStack, waitFor } from '../../helpers/network-harness';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 20_000);
afterAll(() => stack?.close());

/** Makes `n` requests through an ingress with `requests` set, and returns the request lines it logged. */
async function requestLines(requests: { sample: number } | 'off' | undefined, n: number): Promise<LogEntry[]> {
  const logs: LogEntry[] = [];
  const ingress = await stack.another({ requests, log: (e) => logs.push(e) });
  try {
    for (let i = 0; i < n; i++) expect((await request(ingress.port, { path: `/hello?i=${i}`, credentials: stack.clients.alice })).status).toBe(200);
    // A line is written when the response closes, which may be just after the client has it.
    if (requests !== 'off' && (requests?.sample ?? 1) === 1) await waitFor(() => logs.filter((l) => l.event === 'request').length === n, 'every request line');
    else await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await ingress.close();
  }
  return logs.filter((l) => l.event === 'request');
}

describe("the ingress's request lines, as the configuration's logging.requests says", () => {
  it('logs every request by default and with sample 1: method, path without the query, status, timing, caller', async () => {
    for (const setting of [undefined, { sample: 1 }]) {
      const lines = await requestLines(setting, 5);
      expect(lines).toHaveLength(5);
      for (const line of lines) {
        expect(line).toEqual({ level: 'info', event: 'request', method: 'GET', path: '/hello', status: 200, ms: expect.any(Number), caller: 'alice' });
      }
    }
  });

  it("logs none with sample 0 or 'off'", async () => {
    expect(await requestLines({ sample: 0 }, 5)).toEqual([]);
    expect(await requestLines('off', 5)).toEqual([]);
  });

  it('logs about the share asked for in between', async () => {
    const lines = await requestLines({ sample: 0.5 }, 60);
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.length).toBeLessThan(55);
  });

  it('is part of the runtime configuration, checked strictly', () => {
    expect(parseConfig({ users: [], logging: { level: 'warn', requests: { sample: 0.25 } } }).logging).toEqual({ level: 'warn', requests: { sample: 0.25 } });
    expect(parseConfig({ users: [], logging: { requests: 'off' } }).logging).toEqual({ requests: 'off' });
    for (const logging of [{ requests: { sample: 1.5 } }, { requests: 'none' }, { level: 'debug' }, { requests: { sample: 0.5, extra: 1 } }, { other: true }]) {
      expect(() => parseConfig({ users: [], logging })).toThrow(/logging/);
    }
  });
});
