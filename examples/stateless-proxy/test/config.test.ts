import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../src/args.js';
import { configFromObject, resolveConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { formatLeg, parseLegSpec } from '../src/leg-spec.js';

describe('parseLegSpec', () => {
  it.each([
    ['udp:127.0.0.1:5060', { transport: 'udp', address: '127.0.0.1', port: 5060 }],
    ['TCP:10.0.0.1', { transport: 'tcp', address: '10.0.0.1', port: 5060 }],
    ['tls:[::1]', { transport: 'tls', address: '::1', port: 5061 }],
    ['wss:[2001:db8::1]:8443', { transport: 'wss', address: '2001:db8::1', port: 8443 }],
    ['ws:0.0.0.0:0', { transport: 'ws', address: '0.0.0.0', port: 0 }],
  ])('%s', (text, spec) => {
    expect(parseLegSpec(text)).toEqual(spec);
    expect(parseLegSpec(formatLeg(spec))).toEqual(spec);
  });

  it.each(['udp', 'udp:', 'udp:::1:5060', 'udp:[127.0.0.1]:5060', 'udp:host.example:5060', 'udp:1.2.3.4:70000', 'sctp:1.2.3.4:5060', 'udp:1.2.3.4:-1'])(
    'refuses %s',
    (text) => {
      expect(() => parseLegSpec(text)).toThrow(ConfigError);
    },
  );
});

describe('resolveConfig', () => {
  it('no flags: udp and tcp on 127.0.0.1:5060, a registrar for any domain', () => {
    const c = resolveConfig({}, parseCliArgs([]).flags);
    expect(c.legs.map(formatLeg)).toEqual(['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060']);
    expect(c.legs.every((l) => l.registrar && l.domains.join() === '*')).toBe(true);
    expect(c.logLevel).toBe('info');
  });

  it('--leg without --registrar: no registrar; --registrar and --domain apply to every leg', () => {
    expect(resolveConfig({}, parseCliArgs(['--', '--leg', 'udp:127.0.0.1:0']).flags).legs[0]!.registrar).toBe(false);
    const c = resolveConfig({}, parseCliArgs(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:[::1]:0', '--registrar', '--domain', 'a.example', '--domain', 'B.example']).flags);
    expect(c.legs.map((l) => [l.registrar, l.domains])).toEqual([
      [true, ['a.example', 'B.example']],
      [true, ['a.example', 'B.example']],
    ]);
    expect(c.domains).toEqual(['a.example', 'b.example']);
  });

  it('flags win over the file; the file keeps its per-leg settings', () => {
    const file = configFromObject({
      'log-level': 'debug',
      proxy: '192.0.2.1:5060',
      legs: [{ leg: 'udp:127.0.0.1:0', domain: 'inside.example', registrar: true }, { leg: 'tcp:127.0.0.1:0', proxy: '192.0.2.9' }],
    });
    const c = resolveConfig(file, parseCliArgs(['--log-level', 'warn']).flags);
    expect(c.logLevel).toBe('warn');
    expect(c.proxy).toBe('192.0.2.1:5060');
    expect(c.legs[0]).toMatchObject({ registrar: true, domains: ['inside.example'] });
    expect(c.legs[1]).toMatchObject({ registrar: false, domains: ['*'], proxy: '192.0.2.9' });
  });

  it('TLS settings: global cert and key serve tls and wss legs; one without the other is refused', () => {
    const c = resolveConfig({}, parseCliArgs(['--leg', 'tls:127.0.0.1:0', '--leg', 'udp:127.0.0.1:0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']).flags);
    expect(c.legs[0]).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    expect(c.legs[1]!.tlsCert).toBeUndefined();
    expect(() => resolveConfig({}, parseCliArgs(['--tls-key', 'k.pem']).flags)).toThrow(/go together/);
    expect(() => resolveConfig({}, parseCliArgs(['--leg', 'wss:127.0.0.1:0']).flags)).toThrow(/wss leg needs tls-cert/);
    expect(() => resolveConfig(configFromObject({ legs: [{ leg: 'udp:127.0.0.1:0', 'ws-path': '/sip' }] }), {})).toThrow(/ws-path applies/);
  });

  it('UDP legs get a 4 MiB receive buffer unless the file says otherwise; other legs none', () => {
    const c = resolveConfig(configFromObject({ legs: ['udp:127.0.0.1:0', { leg: 'udp:127.0.0.1:0', 'receive-buffer': 65536 }, 'tcp:127.0.0.1:0'] }), {});
    expect(c.legs.map((l) => l.receiveBuffer)).toEqual([4 * 1024 * 1024, 65536, undefined]);
    expect(() => configFromObject({ legs: [{ leg: 'udp:127.0.0.1:0', 'receive-buffer': '4M' }] })).toThrow(/whole number of bytes/);
    expect(() => resolveConfig(configFromObject({ legs: [{ leg: 'tcp:127.0.0.1:0', 'receive-buffer': 65536 }] }), {})).toThrow(/udp legs only/);
  });

  it('every flag has a file key of the same name', () => {
    const keys = ['legs', 'registrar', 'domain', 'proxy', 'contact-key', 'tls-cert', 'tls-key', 'log-level'];
    const doc = { legs: ['udp:127.0.0.1:0'], registrar: true, domain: ['x.example'], proxy: 'p.example', 'contact-key': 'k', 'tls-cert': 'c', 'tls-key': 'k', 'log-level': 'error' };
    expect(Object.keys(doc)).toEqual(keys);
    expect(configFromObject(doc)).toEqual({
      legs: ['udp:127.0.0.1:0'], registrar: true, domain: ['x.example'], proxy: 'p.example', contactKey: 'k', tlsCert: 'c', tlsKey: 'k', logLevel: 'error',
    });
  });
});
