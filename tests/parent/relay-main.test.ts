import { parseRelayArgs } from '../../parent/egress-relay/main';

describe('egress relay arguments', () => {
  it('reads --listen and --config, in either form', () => {
    expect(parseRelayArgs(['--listen=vsock://4294967295:5001', '--config', '/etc/cloister/cloister.config.json'])).toEqual({
      listen: { kind: 'vsock', cid: 4294967295, port: 5001 },
      config: '/etc/cloister/cloister.config.json',
    });
  });

  it('reads the tunnel bound and the idle timeout', () => {
    expect(parseRelayArgs(['--listen', 'unix:///run/relay.sock', '--config', 'c.json', '--max-connections', '32', '--idle-timeout-ms', '60000'])).toEqual({
      listen: { kind: 'unix', path: '/run/relay.sock' },
      config: 'c.json',
      maxConnections: 32,
      idleTimeoutMs: 60_000,
    });
  });

  it.each([
    [[], /--listen and --config are required \(missing: --listen, --config\)/],
    [['--listen', 'unix:///x'], /missing: --config/],
    [['--config'], /option '--config <file>' argument missing/],
    [['--config='], /option '--config <file>' argument missing/],
    [['--listen', 'udp://x', '--config', 'c.json'], /not an address/],
    [['--listen', 'unix:///x', '--config', 'a', '--config', 'b'], /--config is given twice/],
    [['--listen', 'unix:///x', '--config', 'c.json', '--allow', 'x:1'], /unknown option '--allow'/],
    [['--listen', 'unix:///x', '--config', 'c.json', 'x:1'], /unexpected argument "x:1"/],
    [['--listen', 'unix:///x', '--config', 'c.json', '--max-connections', 'many'], /--max-connections must be a whole number from 1 to 1000000; got "many"/],
    [['--listen', 'unix:///x', '--config', 'c.json', '--idle-timeout-ms', '0'], /--idle-timeout-ms must be a whole number/],
  ])('refuses %j', (args, message) => {
    expect(() => parseRelayArgs(args)).toThrow(message);
  });
});
