import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { der, derOid, derTime, derUnsigned, readChildren, readTlv } from '../../../enclave/ingress/der';
import { isReservedHeader, requestHeadersForApp, responseHeadersForClient } from '../../../enclave/ingress/headers';
import { jwkThumbprint } from '../../../enclave/ingress/jwk-thumbprint';
import { RateLimit } from '../../../enclave/ingress/rate-limit';
import { generateTlsIdentity } from '../../../enclave/ingress/tls-identity';

describe('generateTlsIdentity', () => {
  it('makes a fresh P-256 key and a self-signed certificate for it, valid now', async () => {
    const identity = await generateTlsIdentity('enclave-x');
    const cert = new X509Certificate(identity.certPem);
    const key = createPrivateKey(identity.keyPem);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toBe('CN=enclave-x');
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(identity.spkiDer);
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 365 * 24 * 3_600_000);
    const other = await generateTlsIdentity();
    expect(other.spkiDer).not.toEqual(identity.spkiDer);
    expect(new X509Certificate(other.certPem).subject).toBe('CN=cloister-enclave');
  });
});

describe('jwkThumbprint (RFC 7638)', () => {
  const rfcKey = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29',
  };

  it('gives the thumbprint of the RFC’s example', () => {
    expect(jwkThumbprint(rfcKey)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('ignores members other than the required ones, and their order', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
    const publicOnly = { y: jwk.y, x: jwk.x, crv: jwk.crv, kty: jwk.kty, use: 'sig', kid: 'k1' };
    expect(jwkThumbprint(publicOnly)).toBe(jwkThumbprint({ kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }));
  });

  it('refuses key types without a thumbprint and keys missing a member', () => {
    expect(() => jwkThumbprint({ kty: 'oct', k: 'abc' })).toThrow(/EC, RSA or OKP/);
    expect(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'abc' })).toThrow(/"y"/);
  });
});

describe('DER', () => {
  it('encodes the 128-bit arc of a 2.25 OID exactly as OpenSSL does', () => {
    expect(derOid('2.25.149367096520242324618909596432467449390').toString('hex')).toBe('06146981e0df879bf1a08a84d5adb4c2a3a290ddac2e');
    expect(derOid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302');
    expect(() => derOid('2')).toThrow(TypeError);
    expect(() => derOid('1.40')).toThrow(TypeError);
    expect(() => derOid('1.2.x')).toThrow(TypeError);
  });

  it('encodes non-negative integers minimally, with a sign byte where needed', () => {
    expect(derUnsigned(Buffer.from([0, 0, 0x12])).toString('hex')).toBe('020112');
    expect(derUnsigned(Buffer.from([0x80])).toString('hex')).toBe('02020080');
    expect(derUnsigned(Buffer.from([0])).toString('hex')).toBe('020100');
  });

  it('writes UTCTime until 2049 and GeneralizedTime after', () => {
    expect(derTime(new Date('2026-01-02T03:04:05.678Z')).toString('latin1').slice(2)).toBe('260102030405Z');
    expect(derTime(new Date('2050-01-01T00:00:00Z')).toString('latin1').slice(2)).toBe('20500101000000Z');
  });

  it('reads back what it writes, long lengths included', () => {
    const content = Buffer.alloc(70_000, 1);
    const element = der(0x04, content);
    expect(element.subarray(0, 5).toString('hex')).toBe('0483011170');
    const read = readTlv(element);
    expect(read.end).toBe(element.length);
    expect(Buffer.from(read.content).equals(content)).toBe(true);
    expect(readChildren(readTlv(der(0x30, der(0x02, Buffer.from([1])), der(0x05, Buffer.alloc(0)))).content).map((c) => c.tag)).toEqual([0x02, 0x05]);
  });

  it.each([
    ['a truncated header', '04'],
    ['a length past the end', '0405aabb'],
    ['a long form for a short length', '048105' + 'aa'.repeat(5)],
    ['a length with a leading zero byte', '04820080' + 'aa'.repeat(128)],
    ['an indefinite length', '0480aa0000'],
    ['a multi-byte tag', '1f0100'],
  ])('refuses %s', (_what, hex) => {
    expect(() => readTlv(Buffer.from(hex, 'hex'))).toThrow(TypeError);
  });
});

describe('identity headers', () => {
  it('treats any spelling that reads as x-oblv-… as reserved', () => {
    for (const name of ['X-OBLV-User-Name', 'x-oblv-user-role', 'X_OBLV_USER_NAME', 'x-Oblv_anything', 'X-OBLV-']) expect(isReservedHeader(name)).toBe(true);
    for (const name of ['X-OBLVUser-Name', 'XOBLV-User-Name', 'x-oblv', 'oblv-user-name', 'X-Forwarded-For']) expect(isReservedHeader(name)).toBe(false);
  });

  it('strips every reserved header in any case and count, then injects exactly one name and one role (property)', () => {
    const separator = fc.constantFrom('-', '_');
    const reservedName = fc
      .tuple(separator, separator, fc.constantFrom('user-name', 'user_role', 'user-role', 'x', 'User_Name'))
      .chain(([a, b, rest]) => fc.constant(`x${a}oblv${b}${rest}`))
      .chain((name) =>
        fc
          .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
          .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('')),
      );
    const otherName = fc
      .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)
      .filter((n) => !isReservedHeader(n) && !/^(connection|keep-alive|te|trailer|upgrade|transfer-encoding|proxy-.*|expect)$/i.test(n));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(reservedName, otherName), fc.stringMatching(/^[ -~]{0,12}$/)), { maxLength: 12 }),
        fc.option(fc.record({ name: fc.constant('alice'), role: fc.constant('bidder') }), { nil: undefined }),
        (headers, caller) => {
          const out = requestHeadersForApp(headers.flat(), caller);
          const reserved = Object.keys(out).filter(isReservedHeader);
          if (caller) {
            expect(reserved.sort()).toEqual(['x-oblv-user-name', 'x-oblv-user-role']);
            expect(out['x-oblv-user-name']).toBe('alice');
            expect(out['x-oblv-user-role']).toBe('bidder');
          } else {
            expect(reserved).toEqual([]);
          }
          const others = headers.filter(([n]) => !isReservedHeader(n));
          for (const [name] of others) expect(out).toHaveProperty([name.toLowerCase()]);
        },
      ),
    );
  });

  it('drops hop-by-hop headers and those the Connection header names, keeping repeated ones', () => {
    const out = requestHeadersForApp(
      [
        'Connection',
        'keep-alive, X-Secret-Hop',
        'Keep-Alive',
        'timeout=5',
        'X-Secret-Hop',
        '1',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Transfer-Encoding',
        'chunked',
        'Expect',
        '100-continue',
        'Cookie',
        'a=1',
        'Cookie',
        'b=2',
        'Host',
        'enclave',
      ],
      undefined,
    );
    expect(out).toEqual({ cookie: ['a=1', 'b=2'], host: 'enclave' });
    expect(
      responseHeadersForClient(['Connection', 'close', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a', 'Set-Cookie', 'b', 'X-OBLV-Note', 'from the app']),
    ).toEqual({
      'set-cookie': ['a', 'b'],
      'x-oblv-note': 'from the app',
    });
  });
});

describe('RateLimit', () => {
  it('allows a burst per client, then asks it to wait, and refills over the minute', () => {
    let now = 0;
    const limit = new RateLimit(3, 100, () => now);
    expect([1, 2, 3, 4].map(() => limit.take('a').allowed)).toEqual([true, true, true, false]);
    expect(limit.take('a')).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(limit.take('b').allowed).toBe(true);
    now += 20_000;
    expect(limit.take('a').allowed).toBe(true);
    expect(limit.take('a').allowed).toBe(false);
  });

  it('caps everyone together', () => {
    let now = 0;
    const limit = new RateLimit(10, 4, () => now);
    expect(['a', 'b', 'c', 'd', 'e'].map((c) => limit.take(c).allowed)).toEqual([true, true, true, true, false]);
    now += 15_000;
    expect(limit.take('f').allowed).toBe(true);
  });

  it('stays bounded when flooded with client addresses, and still limits', () => {
    let now = 0;
    const limit = new RateLimit(1, 1_000_000, () => now);
    for (let i = 0; i < 50_000; i++) limit.take(`10.0.${i >> 8}.${i & 255}`);
    expect((limit as unknown as { clients: Map<string, unknown> }).clients.size).toBeLessThanOrEqual(10_000);
    now += 60_000;
    expect(limit.take('10.0.0.0').allowed).toBe(true);
  });

  it('refuses rates that are not positive', () => {
    expect(() => new RateLimit(0, 10)).toThrow(RangeError);
    expect(() => new RateLimit(10, Number.NaN)).toThrow(RangeError);
  });
});
