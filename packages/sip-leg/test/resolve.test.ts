/**
 * RFC 3263 §4 resolution against a real DNS server on loopback: every branch of transport,
 * port and address selection. Failures (404/503/…) are in resolve-failures.test.ts, overrides in
 * resolve-overrides.test.ts, the cache in resolve-cache.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUri } from '@sipway/sip-message';
import { SipResolver, type ResolveResult, type ResolverOptions } from '../src/resolve/index.js';
import type { Destination } from '../src/destination.js';
import { TestDnsServer } from './dns-server.js';

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  // NAPTR → SRV → A for every transport; SIP+D2S (SCTP) has no leg and must be skipped.
  dns
    .naptr('naptr.test', { order: 10, preference: 10, services: 'SIP+D2T', replacement: '_sip._tcp.naptr.test' })
    .naptr('naptr.test', { order: 10, preference: 20, services: 'SIP+D2U', replacement: '_sip._udp.naptr.test' })
    .naptr('naptr.test', { order: 20, preference: 10, services: 'SIPS+D2T', replacement: '_sips._tcp.naptr.test' })
    .naptr('naptr.test', { order: 5, preference: 1, services: 'SIP+D2S', replacement: '_sip._sctp.naptr.test' })
    .srv('_sip._tcp.naptr.test', { priority: 10, weight: 0, port: 5070, target: 'tcp-host.naptr.test' })
    .srv('_sip._udp.naptr.test', { priority: 10, weight: 0, port: 5080, target: 'udp-host.naptr.test' })
    .srv('_sips._tcp.naptr.test', { priority: 10, weight: 0, port: 5071, target: 'tls-host.naptr.test' })
    .srv('_sip._sctp.naptr.test', { priority: 10, weight: 0, port: 5090, target: 'sctp-host.naptr.test' })
    .a('tcp-host.naptr.test', '127.0.0.2')
    .a('udp-host.naptr.test', '127.0.0.3')
    .a('tls-host.naptr.test', '127.0.0.4')
    .a('sctp-host.naptr.test', '127.0.0.5');
  // NAPTR whose only service we cannot use: resolution carries on with SRV.
  dns
    .naptr('sctp-only.test', { order: 10, preference: 10, services: 'SIP+D2S', replacement: '_sip._sctp.sctp-only.test' })
    .srv('_sip._udp.sctp-only.test', { priority: 1, weight: 0, port: 5062, target: 'host.sctp-only.test' })
    .a('host.sctp-only.test', '127.0.0.6');
  // NAPTR pointing at an SRV name with no records: A/AAAA of the domain with the NAPTR transport.
  dns
    .naptr('naptr-nosrv.test', { order: 10, preference: 10, services: 'SIP+D2T', replacement: '_sip._tcp.naptr-nosrv.test' })
    .a('naptr-nosrv.test', '127.0.0.7');
  // NAPTR with a non-"s" flag is ignored.
  dns
    .naptr('aflag.test', { order: 1, preference: 1, flags: 'a', services: 'SIP+D2U', replacement: 'elsewhere.test' })
    .a('aflag.test', '127.0.0.8')
    .a('elsewhere.test', '127.0.0.99');
  // WebSocket NAPTR (RFC 7118 registers SIP+D2W/SIPS+D2W).
  dns
    .naptr('ws.test', { order: 10, preference: 10, services: 'SIPS+D2W', replacement: '_sips._ws.ws.test' })
    .srv('_sips._ws.ws.test', { priority: 1, weight: 0, port: 443, target: 'wss-host.ws.test' })
    .a('wss-host.ws.test', '127.0.0.9');
  // No NAPTR: SRV per transport, with priorities.
  dns
    .srv('_sip._udp.srv.test', { priority: 20, weight: 0, port: 5062, target: 'b.srv.test' })
    .srv('_sip._udp.srv.test', { priority: 10, weight: 0, port: 5061, target: 'a.srv.test' })
    .srv('_sip._tcp.srv.test', { priority: 10, weight: 0, port: 5063, target: 'c.srv.test' })
    .a('a.srv.test', '127.0.0.11')
    .a('b.srv.test', '127.0.0.12')
    .a('c.srv.test', '127.0.0.13')
    .aaaa('c.srv.test', '::1');
  // SIPS via _sips._tcp only.
  dns.srv('_sips._tcp.secure.test', { priority: 1, weight: 0, port: 5071, target: 'tls.secure.test' }).a('tls.secure.test', '127.0.0.14');
  dns.srv('_sip._udp.secure.test', { priority: 1, weight: 0, port: 5060, target: 'udp.secure.test' }).a('udp.secure.test', '127.0.0.15');
  // Neither NAPTR nor SRV: A and AAAA of the domain.
  dns.a('plain.test', '127.0.0.20').aaaa('plain.test', '::1');
  // SRV that an explicit port must bypass.
  dns.a('port.test', '127.0.0.21').srv('_sip._udp.port.test', { priority: 1, weight: 0, port: 6000, target: 'wrong.port.test' });
  dns.a('wrong.port.test', '127.0.0.98');
  // IPv6-only SRV target.
  dns.srv('_sip._udp.v6.test', { priority: 1, weight: 0, port: 5064, target: 'host.v6.test' }).aaaa('host.v6.test', '::1');
  // One SRV target with several addresses, and two targets sharing an address (deduplicated).
  dns
    .srv('_sip._udp.multi.test', { priority: 1, weight: 0, port: 5065, target: 'x.multi.test' })
    .srv('_sip._udp.multi.test', { priority: 2, weight: 0, port: 5065, target: 'y.multi.test' })
    .a('x.multi.test', '127.0.0.31')
    .a('x.multi.test', '127.0.0.32')
    .a('y.multi.test', '127.0.0.32');
});

afterAll(async () => {
  await dns.close();
});

function resolver(options: ResolverOptions = {}): SipResolver {
  return new SipResolver({ servers: [dns.address], timeoutMs: 300, tries: 1, ...options });
}

function destinations(result: ResolveResult): Destination[] {
  if (!result.ok) throw new Error(`expected destinations, got ${result.status} ${result.reason}: ${result.detail}`);
  return result.destinations;
}

function brief(list: Destination[]): string[] {
  return list.map((d) => `${d.transport} ${d.family === 6 ? `[${d.address}]` : d.address}:${d.port}`);
}

describe('NAPTR (RFC 3263 §4.1)', () => {
  it('follows NAPTR order then preference, skipping services without a leg (SIP+D2S)', async () => {
    const list = destinations(await resolver().resolve('sip:alice@naptr.test'));
    expect(brief(list)).toEqual(['tcp 127.0.0.2:5070', 'udp 127.0.0.3:5080', 'tls 127.0.0.4:5071']);
    expect(list[0]).toEqual({ transport: 'tcp', address: '127.0.0.2', port: 5070, family: 4, hostname: 'naptr.test' });
  });

  it('keeps only the NAPTR services whose transport the resolver has legs for', async () => {
    const list = destinations(await resolver({ transports: ['udp'] }).resolve('sip:alice@naptr.test'));
    expect(brief(list)).toEqual(['udp 127.0.0.3:5080']);
  });

  it('per-request transports replace the configured ones', async () => {
    const r = resolver({ transports: ['udp'] });
    expect(brief(destinations(await r.resolve('sip:naptr.test', { transports: ['tls'] })))).toEqual(['tls 127.0.0.4:5071']);
  });

  it('uses only SIPS+D2T records for a sips: URI', async () => {
    expect(brief(destinations(await resolver().resolve('sips:bob@naptr.test')))).toEqual(['tls 127.0.0.4:5071']);
  });

  it('falls back to SRV when no NAPTR record is for a transport we have', async () => {
    const r = resolver();
    expect(brief(destinations(await r.resolve('sip:sctp-only.test')))).toEqual(['udp 127.0.0.6:5062']);
  });

  it('uses A/AAAA of the domain with the NAPTR transport when the NAPTR SRV name has no records', async () => {
    expect(brief(destinations(await resolver().resolve('sip:naptr-nosrv.test')))).toEqual(['tcp 127.0.0.7:5060']);
  });

  it('ignores NAPTR records whose flag is not "s"', async () => {
    expect(brief(destinations(await resolver().resolve('sip:aflag.test')))).toEqual(['udp 127.0.0.8:5060']);
  });

  it('maps SIPS+D2W to secure WebSocket when there is a wss leg', async () => {
    const r = resolver({ transports: ['udp', 'wss'] });
    expect(brief(destinations(await r.resolve('sips:ws.test')))).toEqual(['wss 127.0.0.9:443']);
  });
});

describe('SRV (RFC 3263 §4.2, RFC 2782)', () => {
  it('queries _sip._udp and _sip._tcp without NAPTR, priority ascending, transports in our order', async () => {
    const list = destinations(await resolver().resolve('sip:srv.test'));
    expect(brief(list)).toEqual(['udp 127.0.0.11:5061', 'udp 127.0.0.12:5062', 'tcp 127.0.0.13:5063', 'tcp [::1]:5063']);
    expect(list.every((d) => d.hostname === 'srv.test')).toBe(true);
  });

  it('orders the SRV transports by the per-request preference', async () => {
    const list = destinations(await resolver().resolve('sip:srv.test', { transports: ['tcp', 'udp'] }));
    expect(brief(list)).toEqual(['tcp 127.0.0.13:5063', 'tcp [::1]:5063', 'udp 127.0.0.11:5061', 'udp 127.0.0.12:5062']);
  });

  it('does not ask for SRV of transports without a leg', async () => {
    const before = dns.count('_sip._udp.srv.test', 'SRV');
    const list = destinations(await resolver({ transports: ['tcp'] }).resolve('sip:srv.test'));
    expect(brief(list)).toEqual(['tcp 127.0.0.13:5063', 'tcp [::1]:5063']);
    expect(dns.count('_sip._udp.srv.test', 'SRV')).toBe(before);
  });

  it('queries only _sips._tcp for a sips: URI', async () => {
    const before = dns.count('_sip._udp.secure.test');
    expect(brief(destinations(await resolver().resolve('sips:secure.test')))).toEqual(['tls 127.0.0.14:5071']);
    expect(dns.count('_sip._udp.secure.test')).toBe(before);
  });

  it('lists every address of every SRV target and drops duplicates', async () => {
    expect(brief(destinations(await resolver().resolve('sip:multi.test')))).toEqual(['udp 127.0.0.31:5065', 'udp 127.0.0.32:5065']);
  });

  it('applies the RFC 2782 weighted choice with the injected random source', async () => {
    const local = await TestDnsServer.start();
    try {
      local
        .srv('_sip._udp.weight.test', { priority: 5, weight: 10, port: 5001, target: 'w10.weight.test' })
        .srv('_sip._udp.weight.test', { priority: 5, weight: 90, port: 5002, target: 'w90.weight.test' })
        .srv('_sip._udp.weight.test', { priority: 1, weight: 0, port: 5000, target: 'first.weight.test' })
        .a('w10.weight.test', '127.0.0.41')
        .a('w90.weight.test', '127.0.0.42')
        .a('first.weight.test', '127.0.0.40');
      const uri = 'sip:weight.test';
      const options = { servers: [local.address], timeoutMs: 300, tries: 1, transports: ['udp' as const] };
      // draw = floor(r * 101): r = 0 → 0 → the weight-10 record (running sum 10 ≥ 0).
      const low = destinations(await new SipResolver({ ...options, random: () => 0 }).resolve(uri));
      expect(brief(low)).toEqual(['udp 127.0.0.40:5000', 'udp 127.0.0.41:5001', 'udp 127.0.0.42:5002']);
      // r = 0.5 → draw 50 > 10 → the weight-90 record first.
      const high = destinations(await new SipResolver({ ...options, random: () => 0.5 }).resolve(uri));
      expect(brief(high)).toEqual(['udp 127.0.0.40:5000', 'udp 127.0.0.42:5002', 'udp 127.0.0.41:5001']);
    } finally {
      await local.close();
    }
  });

  it('resolves IPv6-only SRV targets to AAAA destinations', async () => {
    const list = destinations(await resolver().resolve('sip:v6.test'));
    expect(list).toEqual([{ transport: 'udp', address: '::1', port: 5064, family: 6, hostname: 'v6.test' }]);
  });
});

describe('A/AAAA without NAPTR and SRV (RFC 3263 §4.2)', () => {
  it('uses UDP and port 5060, IPv4 before IPv6 by default', async () => {
    expect(brief(destinations(await resolver().resolve('sip:plain.test')))).toEqual(['udp 127.0.0.20:5060', 'udp [::1]:5060']);
  });

  it('puts IPv6 first when families say so, and skips a family not listed', async () => {
    expect(brief(destinations(await resolver({ families: [6, 4] }).resolve('sip:plain.test')))).toEqual([
      'udp [::1]:5060',
      'udp 127.0.0.20:5060',
    ]);
    expect(brief(destinations(await resolver({ families: [4] }).resolve('sip:plain.test')))).toEqual(['udp 127.0.0.20:5060']);
  });

  it('uses TCP when there is no UDP leg', async () => {
    expect(brief(destinations(await resolver({ transports: ['tcp'] }).resolve('sip:plain.test')))).toEqual([
      'tcp 127.0.0.20:5060',
      'tcp [::1]:5060',
    ]);
  });

  it('uses TLS on 5061 for sips:', async () => {
    expect(brief(destinations(await resolver({ families: [4] }).resolve('sips:plain.test')))).toEqual(['tls 127.0.0.20:5061']);
  });

  it('accepts the DNS server on ::1', async () => {
    const v6 = await TestDnsServer.start('::1');
    try {
      v6.a('over-v6.test', '127.0.0.22');
      const r = new SipResolver({ servers: [v6.address], timeoutMs: 300, tries: 1, families: [4] });
      expect(brief(destinations(await r.resolve('sip:over-v6.test')))).toEqual(['udp 127.0.0.22:5060']);
      expect(v6.count('over-v6.test', 'A')).toBe(1);
    } finally {
      await v6.close();
    }
  });
});

describe('explicit port and transport (RFC 3263 §4.1, §4.2)', () => {
  it('an explicit port means A/AAAA only: no NAPTR, no SRV', async () => {
    const naptrBefore = dns.count('port.test', 'NAPTR');
    const srvBefore = dns.count('_sip._udp.port.test');
    expect(brief(destinations(await resolver().resolve('sip:port.test:5099')))).toEqual(['udp 127.0.0.21:5099']);
    expect(dns.count('port.test', 'NAPTR')).toBe(naptrBefore);
    expect(dns.count('_sip._udp.port.test')).toBe(srvBefore);
  });

  it('an explicit port on a sips: URI is TLS to that port', async () => {
    expect(brief(destinations(await resolver().resolve('sips:port.test:5099')))).toEqual(['tls 127.0.0.21:5099']);
  });

  it('transport=tcp asks SRV for that transport only, and no NAPTR', async () => {
    const naptrBefore = dns.count('srv.test', 'NAPTR');
    const udpBefore = dns.count('_sip._udp.srv.test');
    const list = destinations(await resolver().resolve('sip:srv.test;transport=tcp'));
    expect(brief(list)).toEqual(['tcp 127.0.0.13:5063', 'tcp [::1]:5063']);
    expect(dns.count('srv.test', 'NAPTR')).toBe(naptrBefore);
    expect(dns.count('_sip._udp.srv.test')).toBe(udpBefore);
  });

  it('transport=tcp without SRV uses A/AAAA on the default port', async () => {
    expect(brief(destinations(await resolver({ families: [4] }).resolve('sip:plain.test;transport=TCP')))).toEqual([
      'tcp 127.0.0.20:5060',
    ]);
  });

  it('transport=tcp in a sips: URI means TLS, looked up as _sips._tcp', async () => {
    expect(brief(destinations(await resolver().resolve('sips:secure.test;transport=tcp')))).toEqual(['tls 127.0.0.14:5071']);
  });

  it('transport=udp with an explicit port', async () => {
    expect(brief(destinations(await resolver().resolve('sip:port.test:7000;transport=udp')))).toEqual(['udp 127.0.0.21:7000']);
  });

  it('transport=ws goes straight to A/AAAA (WebSocket has no SRV)', async () => {
    const r = resolver({ transports: ['udp', 'ws'], families: [4] });
    expect(brief(destinations(await r.resolve('sip:plain.test;transport=ws')))).toEqual(['ws 127.0.0.20:5060']);
  });
});

describe('IP literals and maddr (RFC 3263 §4)', () => {
  it('an IPv4 literal needs no DNS: UDP, port 5060', async () => {
    const before = dns.queries.length;
    const list = destinations(await resolver().resolve('sip:bob@127.0.0.1'));
    expect(list).toEqual([{ transport: 'udp', address: '127.0.0.1', port: 5060, family: 4 }]);
    expect(dns.queries.length).toBe(before);
  });

  it('sips: with an IPv4 literal is TLS on 5061', async () => {
    expect(brief(destinations(await resolver().resolve('sips:127.0.0.1')))).toEqual(['tls 127.0.0.1:5061']);
  });

  it('an IPv6 literal in brackets keeps its port and is family 6', async () => {
    const list = destinations(await resolver().resolve('sip:[::1]:5070'));
    expect(list).toEqual([{ transport: 'udp', address: '::1', port: 5070, family: 6 }]);
  });

  it('an IP literal honours transport= and the legs we have', async () => {
    expect(brief(destinations(await resolver().resolve('sip:127.0.0.1;transport=tcp')))).toEqual(['tcp 127.0.0.1:5060']);
    expect(brief(destinations(await resolver({ transports: ['tcp', 'tls'] }).resolve('sip:127.0.0.1')))).toEqual([
      'tcp 127.0.0.1:5060',
    ]);
  });

  it('maddr with an IP replaces the host, keeps the URI port, and needs no DNS', async () => {
    const before = dns.queries.length;
    // Net::SIP test 13_maddr_proxy: an opaque host is fine because maddr says where to go.
    const list = destinations(await resolver().resolve('sip:3Zqkv7%0Baqqhyaacc4qsip%3Ajohn%40dgged.dhhd.ahhdgd:7070;maddr=127.0.0.9;lr'));
    expect(brief(list)).toEqual(['udp 127.0.0.9:7070']);
    expect(dns.queries.length).toBe(before);
  });

  it('maddr with a host name is resolved instead of the host', async () => {
    const before = dns.count('nowhere.test');
    const list = destinations(await resolver({ families: [4] }).resolve('sip:bob@nowhere.test;maddr=plain.test'));
    expect(list).toEqual([{ transport: 'udp', address: '127.0.0.20', port: 5060, family: 4, hostname: 'plain.test' }]);
    expect(dns.count('nowhere.test')).toBe(before);
  });

  it('maddr with a bracketed IPv6 literal', async () => {
    expect(brief(destinations(await resolver().resolve('sip:bob@example.test;maddr=[::1];transport=tcp')))).toEqual([
      'tcp [::1]:5060',
    ]);
  });

  it('takes a parsed Uri as well as text', async () => {
    const uri = parseUri('sip:alice@naptr.test');
    expect(brief(destinations(await resolver({ transports: ['udp'] }).resolve(uri)))).toEqual(['udp 127.0.0.3:5080']);
  });
});
