import { parseSupervisorOptions } from '../../enclave/options';

const PCR = 'ab'.repeat(48);

describe('supervisor options', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('defaults to the device NSM and vsock port 5000, as inside an enclave', () => {
    expect(parseSupervisorOptions(['--config', 'c.json'])).toEqual({
      config: 'c.json',
      nsm: 'device',
      devDir: '.cloister/dev',
      pcrs: {},
      ingress: { kind: 'vsock', cid: 4294967295, port: 5000 },
      egressRelay: { kind: 'vsock', cid: 3, port: 5001 },
      app: undefined,
      readyFile: undefined,
      graceMs: 5000,
    });
  });

  it('reads the environment, and a flag wins over it', () => {
    process.env.CLOISTER_CONFIG = 'env.json';
    process.env.CLOISTER_NSM = 'dev';
    process.env.CLOISTER_PCR0 = PCR.toUpperCase();
    process.env.CLOISTER_INGRESS = 'unix:///run/env.sock';
    const options = parseSupervisorOptions(['--ingress', 'tcp://127.0.0.1:0']);
    expect(options).toMatchObject({ config: 'env.json', nsm: 'dev', pcrs: { 0: PCR }, ingress: { kind: 'tcp', host: '127.0.0.1', port: 0 } });
  });

  it.each([
    [['--config', 'c.json', '--pcr0', PCR], /--pcr0 sets a development measurement/],
    [['--config', 'c.json', '--nsm', 'dev', '--pcr1', 'abc'], /--pcr1 must be 96 hex digits/],
    [['--config', 'c.json', '--ingress', 'tcp://nowhere'], /--ingress: "tcp:\/\/nowhere" is not an address/],
    [['--config', 'c.json', '--grace-ms', '-1'], /--grace-ms must be a whole number/],
    [['--config', 'c.json', '--bogus'], /unknown option '--bogus'/],
    [[], /required option '--config <file>'/],
  ])('refuses %j as a usage error naming the flag', (argv, message) => {
    expect(() => parseSupervisorOptions(argv)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', exitStatus: 2, message: expect.stringMatching(message) }));
  });
});
