import fc from 'fast-check';
import { ConfigError, parseConfig } from '../contract/config';
import { hostApp } from '../express/testing';
import { createApp } from './helpers/examples-app';
import { fixtureConfig, userKey } from './helpers/fixtures';

const pcr = 'ab'.repeat(48);

function refusal(config: unknown): ConfigError {
  try {
    parseConfig(config);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('the configuration was accepted');
}

describe('runtime configuration', () => {
  it('accepts the configuration of DESIGN.md', () => {
    const config = parseConfig({
      users: [
        { name: 'alice', role: 'bidder', key: userKey('alice') },
        { name: 'bob', role: 'bidder', key: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' } },
      ],
      enclaves: [{ name: 'scorer', role: 'service', pcrs: { '0': pcr, '1': pcr, '2': pcr } }],
      outbound: [{ host: 'api.example.com', port: 443 }],
      apps: { millionaire: { role: 'bidder' }, psi: { role: 'party' } },
    });
    expect(config.users).toHaveLength(2);
  });

  it.each([
    ['no users list', {}, 'users'],
    ['a key that is not a SPKI digest or JWK', { users: [{ name: 'a', role: 'r', key: 'sha256:XYZ' }] }, 'users.0.key'],
    ['a JWK holding a private key', { users: [{ name: 'a', role: 'r', key: { kty: 'EC', d: 'secret' } }] }, 'users.0.key'],
    ['an empty name', { users: [{ name: '', role: 'r', key: userKey('a') }] }, 'users.0.name'],
    ['a name with a newline', { users: [{ name: 'a\nb', role: 'r', key: userKey('a') }] }, 'users.0.name'],
    [
      'the same name twice',
      { users: [{ name: 'a', role: 'r', key: userKey('a') }], enclaves: [{ name: 'a', role: 's', pcrs: { '0': pcr } }] },
      'enclaves.0.name',
    ],
    ['a short PCR', { users: [], enclaves: [{ name: 'e', role: 's', pcrs: { '0': 'ab' } }] }, 'enclaves.0.pcrs.0'],
    ['a PCR index past 31', { users: [], enclaves: [{ name: 'e', role: 's', pcrs: { '32': pcr } }] }, 'enclaves.0.pcrs.32'],
    ['a host with a port', { users: [], outbound: [{ host: 'example.com:443', port: 443 }] }, 'outbound.0.host'],
    ['a URL as a host', { users: [], outbound: [{ host: 'https://example.com', port: 443 }] }, 'outbound.0.host'],
    ['a wildcard host', { users: [], outbound: [{ host: '*.example.com', port: 443 }] }, 'outbound.0.host'],
    ['port 0', { users: [], outbound: [{ host: 'a.example', port: 0 }] }, 'outbound.0.port'],
    ['a typo in a key', { users: [], outbund: [] }, '(top level)'],
    ['an apps block that is not an object', { users: [], apps: ['psi'] }, 'apps'],
    ['a zero limit', { users: [], limits: { jsonBodyBytes: 0 } }, 'limits.jsonBodyBytes'],
    ['a secret named like no environment variable', { users: [], secrets: [{ name: 'db-password', ciphertext: 'AQID' }] }, 'secrets.0.name'],
    ['a secret named HTTPS_PROXY (set by the supervisor)', { users: [], secrets: [{ name: 'HTTPS_PROXY', ciphertext: 'AQID' }] }, 'secrets.0.name'],
    ['a secret named NODE_OPTIONS', { users: [], secrets: [{ name: 'NODE_OPTIONS', ciphertext: 'AQID' }] }, 'secrets.0.name'],
    [
      'the same secret name twice',
      {
        users: [],
        secrets: [
          { name: 'TOKEN', ciphertext: 'AQID' },
          { name: 'TOKEN', ciphertext: 'BAUG' },
        ],
      },
      'secrets.1.name',
    ],
    ['a ciphertext that is not base64', { users: [], secrets: [{ name: 'TOKEN', ciphertext: 'not base64!' }] }, 'secrets.0.ciphertext'],
    ['an oversized ciphertext', { users: [], secrets: [{ name: 'TOKEN', ciphertext: 'A'.repeat(8196) }] }, 'secrets.0.ciphertext'],
    ['a plaintext value beside the ciphertext', { users: [], secrets: [{ name: 'TOKEN', ciphertext: 'AQID', value: 'hunter2' }] }, 'secrets.0'],
    ['a KMS endpoint that is not an http(s) URL', { users: [], kms: { endpoint: 'ftp://kms.example' } }, 'kms.endpoint'],
    ['a malformed KMS region', { users: [], kms: { region: 'Europe' } }, 'kms.region'],
  ])('refuses %s, naming the field', (_what, config, field) => {
    const e = refusal(config);
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.issues.map((i) => i.field || '(top level)')).toContain(field);
    expect(e.message).toContain(field);
  });

  it('accepts KMS-encrypted secrets by environment variable name, and the KMS settings', () => {
    const config = parseConfig({
      users: [],
      secrets: [
        { name: 'DB_PASSWORD', ciphertext: 'AQIDBAUGBwg=' },
        { name: '_TOKEN_2', ciphertext: 'AQID', keyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      ],
      kms: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' },
    });
    expect(config.secrets?.map((s) => s.name)).toEqual(['DB_PASSWORD', '_TOKEN_2']);
    expect(config.kms).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
  });

  it('makes the app host fail fast, before anything listens', () => {
    expect(() => createApp({ users: 'everyone' })).toThrow(ConfigError);
    expect(() => createApp(undefined)).toThrow(/Invalid Cloister configuration/);
  });

  it.each([
    ['an unknown setting of an example', { psi: { maxitems: 5 } }, 'apps.psi'],
    ['an unknown example', { pis: {} }, 'apps'],
    ['a limit out of range', { psi: { maxItems: 0 } }, 'apps.psi.maxItems'],
    ['a role that is no identity value', { millionaire: { role: ' padded ' } }, 'apps.millionaire.role'],
  ])("hands the app's block to the app's own schema, which refuses %s, naming the field", (_what, apps, field) => {
    let error: unknown;
    try {
      createApp({ users: [], apps });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.field)).toContain(field);
  });

  it('refuses an apps block for an app that declares no configuration', () => {
    const plain = () => (_req: unknown, res: { end(): void }) => res.end();
    expect(() => hostApp(plain, { users: [], apps: { anything: 1 } })).toThrow(/apps: this app declares no configuration/);
    expect(() => hostApp(plain, { users: [] })).not.toThrow();
  });

  it('answers any JSON value with a configuration or a ConfigError, never another exception (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.constant(fixtureConfig()).map((c) => ({ ...c, extra: 1 })),
        ),
        (value) => {
          try {
            parseConfig(value);
          } catch (e) {
            expect(e).toBeInstanceOf(ConfigError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
