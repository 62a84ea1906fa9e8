import fc from 'fast-check';
import { formatAddress, parseAddress } from '../../transport/address';

describe('addresses', () => {
  it.each([
    ['tcp://127.0.0.1:8443', { kind: 'tcp', host: '127.0.0.1', port: 8443 }],
    ['tcp://[::1]:443', { kind: 'tcp', host: '::1', port: 443 }],
    ['tcp://localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }],
    ['unix:///run/cloister/app.sock', { kind: 'unix', path: '/run/cloister/app.sock' }],
    ['vsock://3:5001', { kind: 'vsock', cid: 3, port: 5001 }],
  ])('parses %s', (text, address) => {
    expect(parseAddress(text)).toEqual(address);
    expect(formatAddress(parseAddress(text))).toBe(text);
  });

  it.each([
    '',
    'tcp:',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:65536',
    'tcp://::1:80',
    'udp://1.2.3.4:5',
    'unix://',
    'vsock://3',
    'vsock://-1:5',
    'http://x',
    'tcp:127.0.0.1:80',
    'unix:/run/x.sock',
    'vsock:3:5000',
  ])('refuses "%s" with the accepted forms', (text) => {
    expect(() => parseAddress(text)).toThrow(/tcp:\/\/HOST:PORT, unix:\/\/\/path or vsock:\/\/CID:PORT/);
  });

  it('round-trips every tcp and vsock address (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65_535 }), (host, port) => {
        const address = { kind: 'tcp' as const, host, port };
        expect(parseAddress(formatAddress(address))).toEqual(address);
      }),
    );
  });
});
