import { isFromAppChild } from '../../enclave/app-protocol';

describe('the IPC messages the supervisor reads from its app child', () => {
  it('are the two it knows, well formed', () => {
    expect(isFromAppChild({ type: 'ready', address: { kind: 'tcp', host: '127.0.0.1', port: 8080 } })).toBe(true);
    expect(isFromAppChild({ type: 'ready', address: { kind: 'unix', path: '/run/app.sock' } })).toBe(true);
    expect(isFromAppChild({ type: 'failed', message: 'boom' })).toBe(true);
    expect(isFromAppChild({ type: 'failed', message: 'bad block', code: 'INVALID_CONFIG' })).toBe(true);
  });

  it('are not whatever else the app sends on the channel: text that is no text is never read', () => {
    for (const message of [
      null,
      'failed',
      { type: 'failed' },
      { type: 'failed', message: { toString: () => 'x' } },
      { type: 'failed', message: 'x', code: 'OTHER' },
      { type: 'ready' },
      { type: 'ready', address: { kind: 'tcp', host: 1, port: 8080 } },
      { type: 'ready', address: { kind: 'vsock', cid: 3, port: 5000 } },
      { type: 'log', message: 'x' },
    ]) {
      expect(isFromAppChild(message)).toBe(false);
    }
  });
});
