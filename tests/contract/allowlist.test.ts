import fc from 'fast-check';
import { EgressAllowlist, canonicalHost } from '../../contract/allowlist';
import { parseAuthority } from '../../enclave/egress/parse-authority';

const LISTED = [
  { host: 'api.example.com', port: 443 },
  { host: 'Mixed.Example.ORG.', port: 8443 },
  { host: '127.0.0.1', port: 8080 },
  { host: '::1', port: 9000 },
  { host: 'bücher.example', port: 443 },
];

const CASES: [string, number, boolean][] = [
  ['api.example.com', 443, true],
  ['API.EXAMPLE.COM', 443, true],
  ['api.example.com.', 443, true],
  ['api.example.com..', 443, false],
  ['api.example.com', 80, false],
  ['www.api.example.com', 443, false],
  ['example.com', 443, false],
  ['api.example.com.evil.net', 443, false],
  ['mixed.example.org', 8443, true],
  ['127.0.0.1', 8080, true],
  // The same IPv4 address in other notations, which a URL parser and a resolver read as 127.0.0.1:
  // refused, so that the list is reached only by the spelling it names (DESIGN.md, invariant 4).
  ['2130706433', 8080, false],
  ['0x7f.0.0.1', 8080, false],
  ['0x7f000001', 8080, false],
  ['0177.0.0.1', 8080, false],
  ['127.000.0.1', 8080, false],
  ['127.1', 8080, false],
  ['127.0.0.1.', 8080, false],
  ['127.0.0.2', 8080, false],
  ['localhost', 8080, false],
  ['[::1]', 9000, true],
  ['::1', 9000, true],
  ['[0:0:0:0:0:0:0:1]', 9000, true],
  ['[::ffff:127.0.0.1]', 8080, false],
  ['xn--bcher-kva.example', 443, true],
  ['BÜCHER.example', 443, true],
  ['api.example.com:443', 443, false],
  ['user@api.example.com', 443, false],
  ['api.example.com/x', 443, false],
  ['api%2eexample.com', 443, false],
  ['', 443, false],
  ['.api.example.com', 443, false],
  ['api.example.com', 0, false],
  ['api.example.com', 65536, false],
];

describe('the egress allowlist (one for the proxy, the relay and the outbound app)', () => {
  const ours = new EgressAllowlist(LISTED);

  it.each(CASES)('%s:%d → %s', (host, port, expected) => {
    expect(ours.allows({ host, port })).toBe(expected);
  });

  it('canonicalises hosts idempotently, and admits exactly the canonical form of a listed host, for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.domain(), fc.ipV4(), fc.ipV6(), fc.webAuthority()), (host) => {
        const once = canonicalHost(host);
        expect(once === undefined ? undefined : canonicalHost(once)).toBe(once);
        if (once !== undefined) expect(new EgressAllowlist([{ host, port: 443 }]).allows({ host: once, port: 443 })).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses entries that are not hosts or ports', () => {
    expect(() => new EgressAllowlist([{ host: 'a b', port: 1 }])).toThrow(TypeError);
    expect(() => new EgressAllowlist([{ host: 'ok.example', port: 70_000 }])).toThrow(TypeError);
  });
});

describe('parseAuthority (CONNECT targets and Host headers)', () => {
  it.each([
    ['api.example.com:443', undefined, { host: 'api.example.com', port: 443 }],
    ['API.example.com.:443', undefined, { host: 'api.example.com', port: 443 }],
    ['[::1]:9000', undefined, { host: '[::1]', port: 9000 }],
    ['api.example.com', 80, { host: 'api.example.com', port: 80 }],
    ['api.example.com', undefined, undefined],
    ['api.example.com:', 80, undefined],
    ['api.example.com:99999', undefined, undefined],
    ['user@api.example.com:443', undefined, undefined],
    ['api.example.com:443/x', undefined, undefined],
    ['::1:9000', undefined, undefined],
    ['api.example.com:443:1', undefined, undefined],
    [' api.example.com:443', undefined, undefined],
  ] as const)('%s (default port %s)', (text, defaultPort, expected) => {
    expect(parseAuthority(text, defaultPort)).toEqual(expected);
  });
});
