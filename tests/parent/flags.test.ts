import { BOUND_FLAGS, CONFIG, LISTEN, TARGET, readFlags } from '../../parent/flags';

/*
 * The flag reader shared by the parent-side programs; each program's own flags are tested with
 * it (bridge-main, relay-main, config-push). Here: what any of them would refuse.
 */
const read = (argv: string[], required = [LISTEN]) => readFlags<Record<string, unknown>>(argv, [LISTEN, TARGET, CONFIG, ...BOUND_FLAGS], required);

describe('parent flags', () => {
  it('reads both forms, and leaves out what is not given', () => {
    expect(read(['--listen=unix:///a.sock', '--config', 'c.json'])).toEqual({ listen: { kind: 'unix', path: '/a.sock' }, config: 'c.json' });
  });

  it('takes the value after a flag as it is, even one that looks like a flag', () => {
    expect(read(['--listen', 'unix:///a.sock', '--config', '--target'])).toEqual({ listen: { kind: 'unix', path: '/a.sock' }, config: '--target' });
  });

  it('reads the bounds at both ends of their ranges', () => {
    expect(read(['--listen', 'unix:///a', '--max-connections', '1', '--idle-timeout-ms', '86400000'])).toMatchObject({
      maxConnections: 1,
      idleTimeoutMs: 86_400_000,
    });
    expect(read(['--listen', 'unix:///a', '--max-connections', '1000000', '--idle-timeout-ms', '1'])).toMatchObject({
      maxConnections: 1_000_000,
      idleTimeoutMs: 1,
    });
  });

  it.each([
    [[], [LISTEN], /^--listen is required \(missing: --listen\)$/],
    [['--config', 'c'], [LISTEN, TARGET], /^both --listen and --target are required \(missing: --listen, --target\)$/],
    [['--target', 'unix:///t'], [LISTEN, TARGET, CONFIG], /^--listen, --target, --config are required \(missing: --listen, --config\)$/],
  ])('names every missing required flag: %j', (argv, required, message) => {
    expect(() => read(argv, required)).toThrow(message);
  });

  it.each([
    [['--listen', 'unix:///a', '--listen=unix:///b'], /^--listen is given twice$/],
    [['--listen', 'unix:///a', '--idle-timeout-ms', '5', '--idle-timeout-ms', '5'], /^--idle-timeout-ms is given twice$/],
    [['--listen'], /^option '--listen <address>' argument missing$/],
    [['--listen='], /^option '--listen <address>' argument missing$/],
    [['--lissten', 'unix:///a'], /^unknown option '--lissten'\n\(Did you mean --listen\?\)$/],
    [['-l', 'unix:///a'], /^unknown option '-l'/],
    [['--listen', 'unix:///a', 'stray'], /^unexpected argument "stray": every value follows its flag$/],
    [['--listen', 'unix:///a', '--', '--config'], /^unexpected argument "--config"/],
    [['--listen', 'unix:///a', '--max-connections', '1000001'], /^--max-connections must be a whole number from 1 to 1000000; got "1000001"$/],
    [['--listen', 'unix:///a', '--max-connections', ' 5'], /^--max-connections must be a whole number/],
    [['--listen', 'unix:///a', '--idle-timeout-ms', '0x10'], /^--idle-timeout-ms must be a whole number from 1 to 86400000; got "0x10"$/],
    [['--listen', 'tcp://host'], /^"tcp:\/\/host" is not an address/],
  ])('refuses %j with one sentence', (argv, message) => {
    expect(() => read(argv)).toThrow(message);
  });
});
