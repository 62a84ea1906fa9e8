import fc from 'fast-check';
import { EgressAllowlist, canonicalHost, describeTarget } from '../../contract/allowlist';
import { destinationOf } from '../../examples/outbound/destination';

/** Domains the WHATWG parser takes as they are (an `xn--` label must be valid punycode). */
const domain = fc.domain().filter((d) => !/(^|\.)xn--/.test(d));
const port = fc.integer({ min: 1, max: 65_535 });

/** The same host as people might write it: any letter's case flipped, maybe a trailing dot. */
const spelling = (host: string) =>
  fc
    .tuple(fc.array(fc.boolean(), { minLength: host.length, maxLength: host.length }), fc.boolean())
    .map(([upper, dot]) => [...host].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join('') + (dot ? '.' : ''));

const destination = (url: string) => destinationOf(new URL(url));

describe('canonicalHost', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['EXAMPLE.com.', 'example.com'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
    ['[::1]', '[::1]'],
    ['[0:0:0:0:0:0:0:1]', '[::1]'],
    ['2001:DB8::1', '[2001:db8::1]'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('normalises %s to %s', (raw, expected) => {
    expect(canonicalHost(raw)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['a lone dot', '.'],
    ['two trailing dots', 'example.com..'],
    ['an empty label', 'a..example.com'],
    ['a leading dot', '.example.com'],
    ['a name with a port', 'example.com:443'],
    ['a bracketed IPv6 with a port', '[::1]:443'],
    ['an unclosed bracket', '[::1'],
    ['userinfo', 'user@example.com'],
    ['a path', 'example.com/path'],
    ['a backslash', 'example.com\\evil'],
    ['a query', 'example.com?x'],
    ['a fragment', 'example.com#x'],
    ['a space', 'exa mple.com'],
    ['a tab', 'exa\tmple.com'],
    ['a percent escape', 'ex%61mple.com'],
    ['an invalid IPv6', '[::g]'],
    ['a dotted number that is not an IPv4 address', '1.2.3.256'],
  ])('refuses %s', (_what, raw) => {
    expect(canonicalHost(raw)).toBeUndefined();
  });

  it('is idempotent, so normalising twice can never widen a match', () => {
    const anyHost = fc.oneof(
      domain,
      fc.ipV4(),
      fc.ipV6(),
      fc.string({ maxLength: 30 }),
      domain.map((d) => `${d}..`),
    );
    fc.assert(
      fc.property(anyHost, (raw) => {
        const once = canonicalHost(raw);
        expect(once === undefined ? undefined : canonicalHost(once)).toBe(once);
      }),
    );
  });
});

describe('destinationOf', () => {
  it('uses the explicit port, or 80 for http and 443 for https', () => {
    expect(destination('http://Example.com/x')).toEqual({ host: 'example.com', port: 80 });
    expect(destination('https://example.com./x')).toEqual({ host: 'example.com', port: 443 });
    expect(destination('https://example.com:8443/')).toEqual({ host: 'example.com', port: 8443 });
    expect(destination('http://example.com:443/')).toEqual({ host: 'example.com', port: 443 });
    expect(destination('http://[::1]:8080/')).toEqual({ host: '[::1]', port: 8080 });
  });

  it('has no destination for other schemes', () => {
    expect(destination('ftp://example.com/')).toBeUndefined();
    expect(destination('ws://example.com/')).toBeUndefined();
    expect(destination('file:///etc/passwd')).toBeUndefined();
  });

  it('names a destination as host:port', () => {
    expect(describeTarget({ host: '[::1]', port: 80 })).toBe('[::1]:80');
  });
});

describe('EgressAllowlist', () => {
  const list = new EgressAllowlist([
    { host: 'api.example.com', port: 443 },
    { host: 'Upper.Example.', port: 8080 },
    { host: '10.0.0.1', port: 80 },
    { host: '::1', port: 9000 },
    { host: 'localhost', port: 3000 },
  ]);
  const allows = (url: string) => list.allows(destination(url)!);

  it('allows exactly the listed host and port, however the host is spelled', () => {
    expect(allows('https://api.example.com/v1')).toBe(true);
    expect(allows('https://API.Example.COM./v1')).toBe(true);
    expect(allows('https://api.example.com:443/')).toBe(true);
    expect(allows('http://upper.example:8080/')).toBe(true);
    expect(allows('http://10.0.0.1/')).toBe(true);
    expect(allows('http://[::1]:9000/')).toBe(true);
    expect(allows('http://[0:0::1]:9000/')).toBe(true);
    expect(allows('http://localhost:3000/')).toBe(true);
  });

  it('refuses every near miss', () => {
    expect(allows('http://api.example.com/')).toBe(false); // port 80, not 443
    expect(allows('https://api.example.com:8443/')).toBe(false);
    expect(allows('https://x.api.example.com/')).toBe(false);
    expect(allows('https://example.com/')).toBe(false);
    expect(allows('https://api.example.com.evil.example/')).toBe(false);
    expect(allows('https://apiexample.com/')).toBe(false);
    expect(allows('http://10.0.0.1:8080/')).toBe(false);
    expect(allows('http://10.0.0.10/')).toBe(false);
    expect(allows('http://[::ffff:10.0.0.1]/')).toBe(false);
    expect(allows('http://127.0.0.1:3000/')).toBe(false); // an address of localhost, not the name
    expect(allows('http://[::1]:3000/')).toBe(false);
    expect(allows('http://localhost:9000/')).toBe(false); // the name of ::1, not the address
  });

  it('denies everything when empty', () => {
    expect(new EgressAllowlist([]).allows({ host: 'localhost', port: 80 })).toBe(false);
  });

  it('refuses to be built from entries that are not hosts', () => {
    expect(() => new EgressAllowlist([{ host: 'example.com:443', port: 443 }])).toThrow(TypeError);
    expect(() => new EgressAllowlist([{ host: 'https://example.com', port: 443 }])).toThrow(TypeError);
  });

  it('takes a wildcard as a literal label, never a pattern', () => {
    const odd = new EgressAllowlist([{ host: '*.example.com', port: 443 }]);
    expect(odd.allows({ host: 'example.com', port: 443 })).toBe(false);
    expect(odd.allows({ host: 'a.example.com', port: 443 })).toBe(false);
  });

  describe('properties', () => {
    it('allows every case and trailing-dot spelling of a listed host, directly and through a URL', () => {
      fc.assert(
        fc.property(
          domain.chain((d) => fc.tuple(fc.constant(d), spelling(d), spelling(d))),
          port,
          fc.constantFrom('http', 'https'),
          ([listed, listedAs, requested], p, scheme) => {
            const allowlist = new EgressAllowlist([{ host: listedAs, port: p }]);
            expect(allowlist.allows({ host: requested, port: p })).toBe(true);
            expect(allowlist.allows(destination(`${scheme}://${requested}:${p}/`)!)).toBe(true);
            expect(allowlist.allows({ host: listed, port: p })).toBe(true);
          },
        ),
      );
    });

    it('never allows a host that differs from every listed one', () => {
      fc.assert(
        fc.property(fc.uniqueArray(domain, { minLength: 1, maxLength: 5, selector: (d) => d.toLowerCase() }), domain, port, (listed, other, p) => {
          fc.pre(!listed.some((d) => d.toLowerCase() === other.toLowerCase()));
          const allowlist = new EgressAllowlist(listed.map((host) => ({ host, port: p })));
          expect(allowlist.allows({ host: other, port: p })).toBe(false);
          expect(allowlist.allows(destination(`http://${other}:${p}/`)!)).toBe(false);
        }),
      );
    });

    it('never allows a subdomain or a parent of a listed host', () => {
      fc.assert(
        fc.property(domain, fc.stringMatching(/^[a-z0-9]{1,10}$/), port, (listed, label, p) => {
          const allowlist = new EgressAllowlist([{ host: listed, port: p }]);
          expect(allowlist.allows({ host: `${label}.${listed}`, port: p })).toBe(false);
          const parent = listed.slice(listed.indexOf('.') + 1);
          expect(allowlist.allows({ host: parent, port: p })).toBe(false);
        }),
      );
    });

    it('never allows another port of a listed host', () => {
      fc.assert(
        fc.property(domain, port, port, (host, listed, other) => {
          fc.pre(listed !== other);
          expect(new EgressAllowlist([{ host, port: listed }]).allows({ host, port: other })).toBe(false);
        }),
      );
    });

    it('matches IP literals only as listed: an IPv4 never matches a name or another address', () => {
      fc.assert(
        fc.property(fc.ipV4(), fc.oneof(fc.ipV4(), domain), port, (ip, other, p) => {
          fc.pre(ip !== other);
          const allowlist = new EgressAllowlist([{ host: ip, port: p }]);
          expect(allowlist.allows({ host: ip, port: p })).toBe(true);
          expect(allowlist.allows({ host: other, port: p })).toBe(false);
          expect(allowlist.allows(destination(`http://[::ffff:${ip}]:${p}/`)!)).toBe(false);
        }),
      );
    });

    it('matches any spelling of a listed IPv6 address, bare or bracketed', () => {
      fc.assert(
        fc.property(fc.ipV6(), port, fc.boolean(), (ip, p, bracketed) => {
          const allowlist = new EgressAllowlist([{ host: bracketed ? `[${ip}]` : ip, port: p }]);
          expect(allowlist.allows(destination(`http://[${ip.toUpperCase()}]:${p}/`)!)).toBe(true);
        }),
      );
    });
  });
});
