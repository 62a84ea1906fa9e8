import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { prepareAppEndpoint } from '../../enclave/app-address';
import { parseAddress } from '../../transport/address';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-app-address-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prepareAppEndpoint', () => {
  it('by default puts the socket in a fresh 0700 directory, removed afterwards', () => {
    const endpoint = prepareAppEndpoint(undefined);
    expect(endpoint.address.kind).toBe('unix');
    const socketDir = dirname((endpoint.address as { path: string }).path);
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    endpoint.remove();
    expect(existsSync(socketDir)).toBe(false);
  });

  it('creates a missing socket directory private, and refuses one others can enter', () => {
    const created = join(dir, 'new', 'app.sock');
    prepareAppEndpoint(parseAddress(`unix://${created}`));
    expect(statSync(dirname(created)).mode & 0o777).toBe(0o700);

    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o755);
    expect(() => prepareAppEndpoint(parseAddress(`unix://${join(shared, 'app.sock')}`))).toThrow(/must be a directory of this user that no one else can enter/);
  });

  it.each(['tcp://127.0.0.1:0', 'tcp://127.5.6.7:8080', 'tcp://[::1]:0', 'tcp://[0:0:0:0:0:0:0:1]:0'])('accepts the loopback address %s', (text) => {
    expect(prepareAppEndpoint(parseAddress(text)).address).toEqual(parseAddress(text));
  });

  it.each(['tcp://0.0.0.0:0', 'tcp://192.0.2.2:80', 'tcp://[::]:0', 'tcp://localhost:80', 'tcp://[::ffff:127.0.0.1]:0', 'vsock://3:5000'])(
    'refuses %s, which other hosts could reach or which is no loopback literal',
    (text) => {
      expect(() => prepareAppEndpoint(parseAddress(text))).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', exitStatus: 2 }));
    },
  );
});
