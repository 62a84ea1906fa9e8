import { join } from 'node:path';
import { parseSupervisorOptions } from '../../enclave/options';

const PCR = 'ab'.repeat(48);

describe('supervisor options', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('defaults to the device NSM and vsock port 5000, as inside an enclave', () => {
    expect(parseSupervisorOptions(['--config', 'c.json', '--app-module', '/app/dist/app.js'])).toEqual({
      hostedApp: { kind: 'module', path: '/app/dist/app.js' },
      config: 'c.json',
      nsm: 'device',
      devDir: '.cloister/dev',
      pcrs: {},
      ingress: { kind: 'vsock', cid: 4294967295, port: 5000 },
      egressRelay: { kind: 'vsock', cid: 3, port: 5001 },
      app: undefined,
      readyFile: undefined,
      graceMs: 5000,
      logSink: undefined,
      logBufferBytes: 1024 * 1024,
    });
  });

  it('sends the logs to the sink named by --log-sink, with a bounded buffer', () => {
    const options = parseSupervisorOptions(['--config', 'c.json', '--app-module', 'a.js', '--log-sink', 'vsock://3:5003', '--log-buffer-bytes', '65536']);
    expect(options).toMatchObject({ logSink: { kind: 'vsock', cid: 3, port: 5003 }, logBufferBytes: 65536 });
  });

  it('reads the environment, and a flag wins over it', () => {
    process.env.CLOISTER_CONFIG = 'env.json';
    process.env.CLOISTER_NSM = 'dev';
    process.env.CLOISTER_PCR0 = PCR.toUpperCase();
    process.env.CLOISTER_INGRESS = 'unix:///run/env.sock';
    process.env.CLOISTER_APP_MODULE = 'app.js';
    const options = parseSupervisorOptions(['--ingress', 'tcp://127.0.0.1:0']);
    expect(options.hostedApp).toEqual({ kind: 'module', path: join(process.cwd(), 'app.js') });
    expect(options).toMatchObject({ config: 'env.json', nsm: 'dev', pcrs: { 0: PCR }, ingress: { kind: 'tcp', host: '127.0.0.1', port: 0 } });
  });

  it.each([
    [['--config', 'c.json', '--pcr0', PCR], /--pcr0 sets a development measurement/],
    [['--config', 'c.json', '--nsm', 'dev', '--pcr1', 'abc'], /--pcr1 must be 96 hex digits/],
    [['--config', 'c.json', '--ingress', 'tcp://nowhere'], /--ingress: "tcp:\/\/nowhere" is not an address/],
    [['--config', 'c.json', '--grace-ms', '-1'], /--grace-ms must be a whole number/],
    [['--config', 'c.json', '--log-sink', 'stdout'], /--log-sink: "stdout" is not an address/],
    [['--config', 'c.json', '--log-buffer-bytes', '10'], /--log-buffer-bytes must be a whole number from 1024/],
    [['--config', 'c.json', '--bogus'], /unknown option '--bogus'/],
    [[], /required option '--config <file>'/],
    [['--config', 'c.json'], /name the app this enclave serves: --app-module <file>, or a command after "--"/],
    [['--config', 'c.json', '--app-module', 'a.js', '--', 'node', 'server.js'], /either --app-module or a command after "--", not both/],
    [['--config', 'c.json', '--'], /nothing follows "--"/],
  ])('refuses %j as a usage error naming the flag', (argv, message) => {
    expect(() => parseSupervisorOptions(argv)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', exitStatus: 2, message: expect.stringMatching(message) }),
    );
  });

  it('takes the app as the command after "--", its own flags untouched, or from CLOISTER_APP_COMMAND', () => {
    const options = parseSupervisorOptions(['--config', 'c.json', '--', '/usr/bin/node', 'server.js', '--port', '1', '--config', 'x']);
    expect(options.hostedApp).toEqual({ kind: 'command', argv: ['/usr/bin/node', 'server.js', '--port', '1', '--config', 'x'] });
    expect(options.config).toBe('c.json');
    process.env.CLOISTER_APP_COMMAND = JSON.stringify(['/usr/bin/python3', '-m', 'http.server']);
    expect(parseSupervisorOptions(['--config', 'c.json']).hostedApp).toEqual({ kind: 'command', argv: ['/usr/bin/python3', '-m', 'http.server'] });
    process.env.CLOISTER_APP_COMMAND = 'node server.js';
    expect(() => parseSupervisorOptions(['--config', 'c.json'])).toThrow(/CLOISTER_APP_COMMAND must be a JSON array of strings/);
  });
});
