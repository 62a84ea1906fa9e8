import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../../contract/config';
import { configDigest, pcr16For } from '../../contract/config-digest';
import { loadConfigFile, parseConfigText } from '../../contract/load-config';
import { userKey } from '../helpers/fixtures';

const config = {
  users: [{ name: 'alice', role: 'bidder', key: userKey('alice') }],
  outbound: [{ host: 'api.example.com', port: 443 }],
  apps: { millionaire: { role: 'bidder' } },
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration digest', () => {
  it('is SHA-384 of the RFC 8785 canonical JSON', () => {
    const canonical =
      '{"apps":{"millionaire":{"role":"bidder"}},"outbound":[{"host":"api.example.com","port":443}],' +
      `"users":[{"key":"${userKey('alice')}","name":"alice","role":"bidder"}]}`;
    expect(configDigest(config).toString('hex')).toBe(createHash('sha384').update(canonical).digest('hex'));
  });

  it('follows RFC 8785 on numbers and key order (UTF-16 code units)', () => {
    const doc = { b: 1e21, a: 0.1, '\u20ac': 1, '\ud83d\ude00': 2, A: 1.0 };
    const canonical = '{"A":1,"a":0.1,"b":1e+21,"\u20ac":1,"\ud83d\ude00":2}';
    expect(configDigest(doc).toString('hex')).toBe(createHash('sha384').update(canonical).digest('hex'));
  });

  it('is the same for JSON and YAML of one configuration, in any key order (property)', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(Object.keys(config), { minLength: 3, maxLength: 3 }), (order) => {
        const reordered = Object.fromEntries(order.map((k) => [k, config[k as keyof typeof config]]));
        const yaml = order.map((k) => `${k}: ${JSON.stringify(config[k as keyof typeof config])}`).join('\n');
        expect(parseConfigText(JSON.stringify(reordered), 'json').digest).toEqual(configDigest(config));
        expect(parseConfigText(yaml, 'yaml').digest).toEqual(configDigest(config));
      }),
    );
  });

  it('gives PCR16 = SHA-384(48 zero bytes ‖ digest)', () => {
    const digest = configDigest(config);
    expect(pcr16For(digest)).toEqual(
      createHash('sha384')
        .update(Buffer.concat([Buffer.alloc(48), digest]))
        .digest(),
    );
  });
});

describe('loading a configuration file', () => {
  it('reads JSON and YAML files', () => {
    writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
    writeFileSync(
      join(dir, 'c.yaml'),
      `users:\n  - { name: alice, role: bidder, key: "${userKey('alice')}" }\noutbound:\n  - { host: api.example.com, port: 443 }\napps: { millionaire: { role: bidder } }\n`,
    );
    expect(loadConfigFile(join(dir, 'c.json')).config.users[0]!.name).toBe('alice');
    expect(loadConfigFile(join(dir, 'c.yaml')).digest).toEqual(loadConfigFile(join(dir, 'c.json')).digest);
  });

  it.each([
    ['a missing file', 'nope.json', null, /cannot read/],
    ['broken JSON', 'broken.json', '{"users": [', /not valid JSON/],
    ['broken YAML', 'broken.yaml', 'users: [\n', /not valid YAML/],
    ['a duplicate YAML key', 'dup.yaml', 'users: []\nusers: []\n', /not valid YAML/],
    ['a bad field', 'bad.json', JSON.stringify({ users: [{ name: 'a', role: 'r', key: 'nope' }] }), /users\.0\.key/],
  ])('refuses %s with a ConfigError naming the problem', (_what, file, content, message) => {
    if (content !== null) writeFileSync(join(dir, file), content);
    let error: unknown;
    try {
      loadConfigFile(join(dir, file));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('stops reading a file that does not end (/dev/zero) at 1 MiB', () => {
    expect(() => loadConfigFile('/dev/zero')).toThrow(/cannot read \/dev\/zero: it is larger than 1 MiB/);
  });
});
