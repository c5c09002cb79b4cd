import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../src/args.js';
import { configFromObject, resolveConfig } from '../src/config.js';
import { ConfigError } from '@sipway/example-kit';
import { formatLeg, parseLegSpec } from '@sipway/example-kit';

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

  it('--idle-timeout and --close-idle-flows apply to the connection legs only; the file keys match the flags', () => {
    const d = resolveConfig(configFromObject({ legs: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0', 'ws:127.0.0.1:0'] }), {});
    expect(d.legs.map((l) => [l.idleTimeoutMs, l.keepRegisteredFlows])).toEqual([[undefined, undefined], [120_000, true], [120_000, true]]);
    const flags = parseCliArgs(['--leg', 'udp:127.0.0.1:0', '--leg', 'tls:127.0.0.1:0', '--tls-cert', 'c', '--tls-key', 'k', '--idle-timeout', '0', '--close-idle-flows']).flags;
    expect(flags).toMatchObject({ idleTimeout: '0', closeIdleFlows: true });
    expect(configFromObject({ 'idle-timeout': 0, 'close-idle-flows': true })).toEqual({ idleTimeout: 0, closeIdleFlows: true });
    const c = resolveConfig({}, flags);
    expect(c.legs.map((l) => [l.idleTimeoutMs, l.keepRegisteredFlows])).toEqual([[undefined, undefined], [0, false]]);
    for (const bad of ['1.5', '-1', 'soon', '86401']) {
      expect(() => resolveConfig({}, parseCliArgs([`--idle-timeout=${bad}`]).flags)).toThrow(/idle-timeout .*whole seconds from 0 \(never\) to 86400/);
    }
    expect(() => configFromObject({ 'close-idle-flows': 'yes' })).toThrow(/close-idle-flows must be true or false/);
  });

  it('--flow-timer: whole seconds from 1 to 86400 for a registrar', () => {
    expect(resolveConfig({}, parseCliArgs(['--flow-timer', '30']).flags).flowTimer).toBe(30);
    expect(resolveConfig(configFromObject({ 'flow-timer': 25 }), {}).flowTimer).toBe(25);
    expect(resolveConfig({}, {}).flowTimer).toBeUndefined();
    for (const bad of ['0', '2.5', 'x', '86401']) {
      expect(() => resolveConfig({}, parseCliArgs(['--flow-timer', bad]).flags)).toThrow(/flow-timer .*whole seconds from 1 to 86400/);
    }
    expect(() => resolveConfig({}, parseCliArgs(['--leg', 'tcp:127.0.0.1:0', '--flow-timer', '30']).flags)).toThrow(/flow-timer is the registrar's/);
  });

  it('every flag has a file key of the same name', () => {
    const doc = {
      legs: ['udp:127.0.0.1:0'], registrar: true, domain: ['x.example'], proxy: 'p.example', 'contact-key': 'k', 'tls-cert': 'c', 'tls-key': 'k', 'log-level': 'error',
      store: 'redis://127.0.0.1:6379/0', admin: '127.0.0.1:9060', 'auth-user': ['alice:pw'], 'auth-realm': 'x.example', 'auth-algorithms': 'MD5,SHA-256',
      'nonce-secret': 's', 'rate-limit': '10/2', 'rate-limit-allow': ['10.0.0.0/8'], 'auth-lockout': 'source-failures=5',
      'relay-allow': ['192.0.2.0/24'], 'allow-destination': ['10.1.0.0/16'], 'allow-private': true, 'route-secret': 'r',
      'max-bindings': 4, 'max-aors-per-source': 20, 'max-aors': 1000, 'registrar-trusted': ['192.0.2.0/24'],
    };
    expect(configFromObject(doc)).toEqual({
      legs: ['udp:127.0.0.1:0'], registrar: true, domain: ['x.example'], proxy: 'p.example', contactKey: 'k', tlsCert: 'c', tlsKey: 'k', logLevel: 'error',
      store: 'redis://127.0.0.1:6379/0', admin: '127.0.0.1:9060', authUser: ['alice:pw'], authRealm: 'x.example', authAlgorithms: 'MD5,SHA-256',
      nonceSecret: 's', rateLimit: '10/2', rateLimitAllow: ['10.0.0.0/8'], authLockout: 'source-failures=5',
      relayAllow: ['192.0.2.0/24'], allowDestination: ['10.1.0.0/16'], allowPrivate: true, routeSecret: 'r',
      maxBindings: '4', maxAorsPerSource: '20', maxAors: '1000', registrarTrusted: ['192.0.2.0/24'],
    });
    // The same keys as flags give the same input.
    const flags = parseCliArgs([
      '--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'x.example', '--proxy', 'p.example', '--contact-key', 'k', '--tls-cert', 'c', '--tls-key', 'k', '--log-level', 'error',
      '--store', 'redis://127.0.0.1:6379/0', '--admin', '127.0.0.1:9060', '--auth-user', 'alice:pw', '--auth-realm', 'x.example', '--auth-algorithms', 'MD5,SHA-256',
      '--nonce-secret', 's', '--rate-limit', '10/2', '--rate-limit-allow', '10.0.0.0/8', '--auth-lockout', 'source-failures=5',
      '--relay-allow', '192.0.2.0/24', '--allow-destination', '10.1.0.0/16', '--allow-private', '--route-secret', 'r',
      '--max-bindings', '4', '--max-aors-per-source', '20', '--max-aors', '1000', '--registrar-trusted', '192.0.2.0/24',
    ]).flags;
    expect(flags).toEqual(configFromObject(doc));
  });
});

describe('relay and destination policy settings', () => {
  it('defaults: no relay allow-list, no extra destinations, no private ranges, no route secret', () => {
    expect(resolveConfig({}, {})).toMatchObject({ relayAllow: [], allowDestinations: [], allowPrivate: false, routeSecret: undefined });
  });

  it('takes CIDR blocks and single addresses, IPv4 and IPv6, and a route secret of 16 bytes or more', () => {
    const c = resolveConfig({}, parseCliArgs([
      '--relay-allow', '192.0.2.0/24', '--relay-allow', '2001:db8::1', '--allow-destination', '127.0.0.1', '--allow-destination', 'fd00::/8',
      '--allow-private', '--route-secret', 'hex:000102030405060708090a0b0c0d0e0f',
    ]).flags);
    expect(c).toMatchObject({
      relayAllow: ['192.0.2.0/24', '2001:db8::1'], allowDestinations: ['127.0.0.1', 'fd00::/8'], allowPrivate: true, routeSecret: 'hex:000102030405060708090a0b0c0d0e0f',
    });
  });

  it.each([
    [['--relay-allow', '10.0.0.0/33'], /relay-allow "10\.0\.0\.0\/33": expected an IP address or CIDR block/],
    [['--relay-allow', 'example.com'], /relay-allow "example\.com"/],
    [['--allow-destination', '::1/129'], /allow-destination "::1\/129"/],
    [['--route-secret', 'hex:0001'], /route-secret/],
  ])('refuses %j', (args, message) => {
    expect(() => resolveConfig({}, parseCliArgs(args).flags)).toThrow(message);
  });

  it('refuses a non-boolean allow-private in the file', () => {
    expect(() => configFromObject({ 'allow-private': 'yes' })).toThrow(/allow-private must be true or false/);
  });
});

describe('store, authentication, rate limit and admin settings', () => {
  it('defaults: memory store, no authentication, rate limit 50/1, registrar caps 10/100/100000, no admin listener', () => {
    const c = resolveConfig({}, {});
    expect(c).toMatchObject({
      store: { kind: 'memory' },
      auth: undefined,
      rateLimit: { points: 50, duration: 1, allow: [] },
      registrarLimits: { maxBindings: 10, maxAorsPerSource: 100, maxAors: 100_000, trustedSources: [] },
      admin: undefined,
    });
    expect(resolveConfig({}, parseCliArgs(['--rate-limit', 'off']).flags).rateLimit).toBeUndefined();
    expect(resolveConfig(configFromObject({ 'rate-limit': 'off' }), {}).rateLimit).toBeUndefined();
  });

  it('auth-lockout: on by default with authentication; off, key=value text or a YAML mapping', () => {
    const auth = ['--domain', 'example.com', '--auth-user', 'a:b'];
    expect(resolveConfig({}, parseCliArgs(auth).flags).auth?.lockout).toEqual({});
    expect(resolveConfig({}, parseCliArgs([...auth, '--auth-lockout', 'off']).flags).auth?.lockout).toBe(false);
    expect(resolveConfig({}, parseCliArgs([...auth, '--auth-lockout', 'source-failures=3,allow=10.0.0.0/8;::1']).flags).auth?.lockout).toEqual({
      sourceFailures: 3,
      allow: ['10.0.0.0/8', '::1'],
    });
    const file = configFromObject({ 'auth-lockout': { 'user-failures': 50, 'max-user-lockout': 600 } });
    expect(resolveConfig(file, parseCliArgs(auth).flags).auth?.lockout).toEqual({ userFailures: 50, maxUserLockout: 600 });
    expect(resolveConfig(configFromObject({ 'auth-lockout': false }), parseCliArgs(auth).flags).auth?.lockout).toBe(false);
  });

  it('registrar caps from flags and file; 0 turns the AOR caps off', () => {
    const c = resolveConfig(configFromObject({ 'max-aors': 0, 'registrar-trusted': '192.0.2.1' }), parseCliArgs(['--max-bindings', '3', '--max-aors-per-source', '0']).flags);
    expect(c.registrarLimits).toEqual({ maxBindings: 3, maxAorsPerSource: 0, maxAors: 0, trustedSources: ['192.0.2.1'] });
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
    expect(c.auth).toEqual({ users: new Map([['alice', 'a:b:c'], ['bob', 'pw']]), realm: 'example.com', algorithms: ['SHA-256', 'MD5'], nonceSecret: undefined, lockout: {} });
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
    [['--rate-limit', 'off', '--rate-limit-allow', '10.0.0.0/8'], /needs rate-limit/],
    [['--rate-limit', 'on'], /expected N or N\/SECONDS, both ≥ 1, or off/],
    [['--auth-lockout', 'off'], /auth-lockout needs at least one auth-user/],
    [['--auth-user', 'a:1', '--auth-realm', 'r', '--auth-lockout', 'window=0'], /auth-lockout: window must be a positive integer/],
    [['--auth-user', 'a:1', '--auth-realm', 'r', '--auth-lockout', 'speed=9'], /auth-lockout: unknown key "speed"/],
    [['--auth-user', 'a:1', '--auth-realm', 'r', '--auth-lockout', 'source-lockout=7200'], /maxSourceLockout must be at least sourceLockout/],
    [['--max-bindings', '0'], /max-bindings must be a whole number ≥ 1/],
    [['--max-aors=-5'], /max-aors must be a whole number ≥ 0/],
    [['--max-aors-per-source', 'many'], /max-aors-per-source must be a whole number/],
    [['--leg', 'udp:127.0.0.1:0', '--max-aors', '10'], /are the registrar's: give --registrar/],
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

describe('connection limits of the stream legs', () => {
  it('defaults: 1024 per leg, 32 per source, IPv6 per /64, 20 s per message, 10 s per handshake', () => {
    expect(resolveConfig({}, {}).connections).toEqual({
      maxConnections: 1024,
      maxConnectionsPerSource: 32,
      sourcePrefixV6: 64,
      messageTimeoutMs: 20_000,
      handshakeTimeoutMs: 10_000,
    });
  });

  it('flags and file keys of the same names; flags win', () => {
    const file = configFromObject({ 'max-connections': 200, 'max-connections-per-source': 0, 'source-prefix-v6': 56, 'message-timeout-ms': 5000, 'handshake-timeout-ms': 3000 });
    expect(resolveConfig(file, {}).connections).toEqual({ maxConnections: 200, maxConnectionsPerSource: 0, sourcePrefixV6: 56, messageTimeoutMs: 5000, handshakeTimeoutMs: 3000 });
    const flags = parseCliArgs(['--max-connections', '300', '--max-connections-per-source', '8', '--source-prefix-v6', '48', '--message-timeout-ms', '0', '--handshake-timeout-ms', '1500']).flags;
    expect(resolveConfig(file, flags).connections).toEqual({ maxConnections: 300, maxConnectionsPerSource: 8, sourcePrefixV6: 48, messageTimeoutMs: 0, handshakeTimeoutMs: 1500 });
  });

  it.each([
    [['--max-connections', '0'], /max-connections must be a whole number from 1/],
    [['--max-connections', 'many'], /max-connections must be a whole number/],
    [['--max-connections-per-source=-1'], /max-connections-per-source must be a whole number from 0/],
    [['--source-prefix-v6', '129'], /source-prefix-v6 must be a whole number from 1 to 128/],
    [['--message-timeout-ms', '1.5'], /message-timeout-ms must be a whole number/],
    [['--handshake-timeout-ms', '10s'], /handshake-timeout-ms must be a whole number/],
  ])('refuses %j', (args, message) => {
    expect(() => resolveConfig({}, parseCliArgs(args).flags)).toThrow(message);
  });

  it('an unknown key next to them is still an error', () => {
    expect(() => configFromObject({ 'max-connection': 5 })).toThrow(/unknown key "max-connection"/);
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
