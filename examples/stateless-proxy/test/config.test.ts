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
    const doc = {
      legs: ['udp:127.0.0.1:0'], registrar: true, domain: ['x.example'], proxy: 'p.example', 'contact-key': 'k', 'tls-cert': 'c', 'tls-key': 'k', 'log-level': 'error',
      store: 'redis://127.0.0.1:6379/0', admin: '127.0.0.1:9060', 'auth-user': ['alice:pw'], 'auth-realm': 'x.example', 'auth-algorithms': 'MD5,SHA-256',
      'nonce-secret': 's', 'rate-limit': '10/2', 'rate-limit-allow': ['10.0.0.0/8'],
    };
    expect(configFromObject(doc)).toEqual({
      legs: ['udp:127.0.0.1:0'], registrar: true, domain: ['x.example'], proxy: 'p.example', contactKey: 'k', tlsCert: 'c', tlsKey: 'k', logLevel: 'error',
      store: 'redis://127.0.0.1:6379/0', admin: '127.0.0.1:9060', authUser: ['alice:pw'], authRealm: 'x.example', authAlgorithms: 'MD5,SHA-256',
      nonceSecret: 's', rateLimit: '10/2', rateLimitAllow: ['10.0.0.0/8'],
    });
    // The same keys as flags give the same input.
    const flags = parseCliArgs([
      '--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'x.example', '--proxy', 'p.example', '--contact-key', 'k', '--tls-cert', 'c', '--tls-key', 'k', '--log-level', 'error',
      '--store', 'redis://127.0.0.1:6379/0', '--admin', '127.0.0.1:9060', '--auth-user', 'alice:pw', '--auth-realm', 'x.example', '--auth-algorithms', 'MD5,SHA-256',
      '--nonce-secret', 's', '--rate-limit', '10/2', '--rate-limit-allow', '10.0.0.0/8',
    ]).flags;
    expect(flags).toEqual(configFromObject(doc));
  });
});

describe('store, authentication, rate limit and admin settings', () => {
  it('defaults: memory store, no authentication, no rate limit, no admin listener', () => {
    const c = resolveConfig({}, {});
    expect(c).toMatchObject({ store: { kind: 'memory' }, auth: undefined, rateLimit: undefined, admin: undefined });
  });

  it.each([
    ['memory', { kind: 'memory' }],
    ['file:/var/lib/sipway/bindings.json', { kind: 'file', url: 'file:/var/lib/sipway/bindings.json' }],
    ['redis://127.0.0.1:6379/2', { kind: 'redis', url: 'redis://127.0.0.1:6379/2' }],
    ['rediss://cache.example:6380/0', { kind: 'redis', url: 'rediss://cache.example:6380/0' }],
  ])('--store %s', (text, spec) => {
    expect(resolveConfig({}, parseCliArgs(['--store', text]).flags).store).toEqual(spec);
  });

  it.each(['mysql://x', 'file:', 'redis:', ''])('refuses --store %j', (text) => {
    expect(() => resolveConfig({}, parseCliArgs(['--store', text]).flags)).toThrow(/expected memory, file:PATH or redis/);
  });

  it('refuses a persistent store without a registrar to use it', () => {
    expect(() => resolveConfig({}, parseCliArgs(['--leg', 'udp:127.0.0.1:0', '--store', 'file:/tmp/x.json']).flags)).toThrow(/give --registrar/);
  });

  it('auth users: passwords may hold colons, the realm defaults to the first domain without *, SHA-256 is offered first', () => {
    const c = resolveConfig({}, parseCliArgs(['--domain', '*', '--domain', 'example.com', '--auth-user', 'alice:a:b:c', '--auth-user', 'bob:pw']).flags);
    expect(c.auth).toEqual({ users: new Map([['alice', 'a:b:c'], ['bob', 'pw']]), realm: 'example.com', algorithms: ['SHA-256', 'MD5'], nonceSecret: undefined });
    expect(resolveConfig({}, parseCliArgs(['--auth-user', 'a:b', '--auth-realm', 'r', '--auth-algorithms', 'md5']).flags).auth).toMatchObject({ realm: 'r', algorithms: ['MD5'] });
  });

  it.each([
    [['--auth-user', 'alice'], /expected user:password/],
    [['--auth-user', ':pw'], /expected user:password/],
    [['--auth-user', 'alice:'], /expected user:password/],
    [['--auth-user', 'a:1', '--auth-user', 'a:2'], /given twice/],
    [['--auth-user', 'a:1'], /needs a realm/],
    [['--auth-realm', 'r'], /need at least one auth-user/],
    [['--auth-user', 'a:1', '--auth-realm', 'r', '--auth-algorithms', 'SHA-1'], /unknown algorithm SHA-1/],
    [['--auth-user', 'a:1', '--auth-realm', 'r', '--auth-algorithms', 'MD5,md5'], /twice/],
    [['--rate-limit', '0'], /expected N or N\/SECONDS/],
    [['--rate-limit', '5/x'], /expected N or N\/SECONDS/],
    [['--rate-limit-allow', '10.0.0.0/8'], /needs rate-limit/],
    [['--admin', 'localhost:9060'], /admin: .*IP address/],
    [['--admin', '127.0.0.1:99999'], /admin: /],
  ])('refuses %j', (args, message) => {
    expect(() => resolveConfig({}, parseCliArgs(args).flags)).toThrow(message);
  });

  it('--rate-limit N[/S] and --admin host:port', () => {
    const c = resolveConfig({}, parseCliArgs(['--rate-limit', '20', '--rate-limit-allow', '127.0.0.1/32', '--admin', '[::1]:0']).flags);
    expect(c.rateLimit).toEqual({ points: 20, duration: 1, allow: ['127.0.0.1/32'] });
    expect(c.admin).toEqual({ host: '::1', port: 0 });
    expect(resolveConfig(configFromObject({ 'rate-limit': 5 }), {}).rateLimit).toEqual({ points: 5, duration: 1, allow: [] });
  });
});

describe('media', () => {
  it('--media builtin, builtin:MIN-MAX with --media-timeout, rtpengine:HOST:PORT, and the YAML keys', () => {
    const legs = ['--leg', 'udp:127.0.0.1:5060', '--leg', 'udp:127.0.0.2:5060'];
    expect(resolveConfig({}, parseCliArgs([...legs, '--media', 'builtin']).flags).media).toEqual({ kind: 'builtin', portMin: 30000, portMax: 39999 });
    expect(resolveConfig({}, parseCliArgs([...legs, '--media', 'builtin:20000-20999', '--media-timeout', '2.5']).flags).media).toEqual({
      kind: 'builtin',
      portMin: 20000,
      portMax: 20999,
      idleTimeoutS: 2.5,
    });
    expect(resolveConfig({}, parseCliArgs([...legs, '--media', 'rtpengine:[::1]:2223']).flags).media).toEqual({ kind: 'rtpengine', host: '::1', port: 2223 });
    const file = configFromObject({ legs: ['udp:10.0.0.1:5060'], media: 'builtin:40000-40099', 'media-timeout': 30 });
    expect(resolveConfig(file, {}).media).toEqual({ kind: 'builtin', portMin: 40000, portMax: 40099, idleTimeoutS: 30 });
    expect(resolveConfig({}, parseCliArgs(legs).flags).media).toBeUndefined();
    expect(() => resolveConfig({}, parseCliArgs([...legs, '--media', 'rtpengine:127.0.0.1:2223', '--media-timeout', '5']).flags)).toThrow(/media-timeout applies to the built-in relay only/);
    expect(() => resolveConfig({}, parseCliArgs([...legs, '--media', 'rtpengine:127.0.0.1:0']).flags)).toThrow(/expected rtpengine:HOST:PORT/);
  });
});
