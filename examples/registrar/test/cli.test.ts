import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, runToExit, startRegistrar } from './helpers.js';

afterEach(cleanup);

describe('sipway-registrar command line', () => {
  it('prints the usage with --help and exits 0', async () => {
    const r = await runToExit(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--leg', '--domain', '--store', '--auth-user', '--auth-realm', '--admin', '--log-level', '--rate-limit', '--auth-lockout', '--max-bindings', '--max-aors-per-source', '--max-aors', '--registrar-trusted']) expect(r.stdout).toContain(flag);
  });

  it.each([
    [['--bogus'], /Unknown option/],
    [['--leg', 'sctp:127.0.0.1:5060'], /unknown transport/],
    [['--leg', 'udp:localhost:5060'], /IP address/],
    [['--store', 'mysql://db'], /expected memory, file:PATH or redis/],
    [['--auth-user', 'alice'], /expected user:password/],
    [['--auth-user', 'alice:x', '--auth-user', 'alice:y', '--domain', 'example.com'], /given twice/],
    [['--auth-user', 'alice:x'], /needs a realm/],
    [['--auth-realm', 'example.com'], /need at least one --auth-user/],
    [['--auth-user', 'alice:x', '--domain', 'example.com', '--auth-algorithms', 'SHA-1'], /unknown algorithm/],
    [['--admin', 'localhost:9060'], /admin address/],
    [['--rate-limit', 'lots'], /--rate-limit/],
    [['--rate-limit', 'off', '--rate-limit-allow', '10.0.0.0/8'], /needs --rate-limit \(it is off\)/],
    [['--auth-lockout', 'off'], /--auth-lockout needs at least one --auth-user/],
    [['--auth-user', 'alice:x', '--domain', 'example.com', '--auth-lockout', 'window=0'], /--auth-lockout: window must be a positive integer/],
    [['--max-bindings', '0'], /--max-bindings must be an integer ≥ 1/],
    [['--max-aors-per-source', 'lots'], /--max-aors-per-source must be an integer ≥ 0/],
    [['--registrar-trusted', 'proxy.example.com'], /trustedSources: "proxy.example.com" is not an IP address/],
    [['--log-level', 'loud'], /--log-level/],
    [['--leg', 'tls:127.0.0.1:5061'], /--tls-cert/],
    [['--min-expires', '600', '--max-expires', '60'], /minExpires/],
  ])('refuses %j with exit code 2 and a message', async (args, message) => {
    const r = await runToExit(['--leg', 'udp:127.0.0.1:0', ...args]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 when Redis does not answer at start-up', async () => {
    const r = await runToExit(['--leg', 'udp:127.0.0.1:0', '--store', 'redis://127.0.0.1:1/0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start/);
  });

  it('exits 1 when its port is taken', async () => {
    const first = await startRegistrar(['--leg', 'udp:127.0.0.1:0']);
    const r = await runToExit(['--leg', `udp:127.0.0.1:${first.legs[0]!.port}`]);
    expect(r.code).toBe(1);
    expect(await first.stop()).toBe(0);
  });

  it('prints one listening line per leg and exits 0 on SIGINT after closing', async () => {
    const reg = await startRegistrar(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--leg', 'udp:[::1]:0', '--log-level', 'warn']);
    expect(reg.legs.map((l) => `${l.transport}:${l.address}`)).toEqual(['udp:127.0.0.1', 'tcp:127.0.0.1', 'udp:::1']);
    expect(reg.logs().filter((l) => String(l.msg).startsWith('listening on')).length).toBe(3);
    expect(await reg.stop('SIGINT')).toBe(0);
    expect(reg.logs().map((l) => l.msg)).toContain('closed');
  });
});
