/**
 * Configured next hops: Net::SIP's domain2proxy (exact domain, then `*.parent` walking up, then
 * `*`) and the outbound proxy. The scenario of Net::SIP's t/03_forward_stateless.t is replayed
 * with loopback hops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipResolver, type ResolveResult, type ResolverOptions } from '../src/resolve/index.js';
import { TestDnsServer } from './dns-server.js';

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  dns.srv('_sip._udp.proxy.test', { priority: 1, weight: 0, port: 5099, target: 'host.proxy.test' }).a('host.proxy.test', '127.0.0.52');
  dns.a('outbound.test', '127.0.0.61');
  dns.a('example.com', '127.0.0.98').a('anything.test', '127.0.0.98');
});

afterAll(async () => {
  await dns.close();
});

const DOMAIN2PROXY = {
  'example.com': 'sip:127.0.0.50:5070',
  'example.org': '127.0.0.51:5071',
  '*.example.org': 'proxy.test',
  'tcp.test': 'sip:127.0.0.53;transport=tcp',
  '127.0.0.99': '127.0.0.54:5074',
  '[::1]': '127.0.0.56:5076',
  'missing.test': 'nxdomain.test',
  '*': '[::1]:5072',
};

function resolver(options: ResolverOptions = {}): SipResolver {
  return new SipResolver({ servers: [dns.address], timeoutMs: 200, tries: 1, families: [4], ...options });
}

function hop(result: ResolveResult): string {
  if (!result.ok) return `${result.status} ${result.code}`;
  const d = result.destinations[0];
  if (!d) return 'none';
  return `${d.transport} ${d.family === 6 ? `[${d.address}]` : d.address}:${d.port}`;
}

describe('domain2proxy', () => {
  const r = (): SipResolver => resolver({ domain2proxy: DOMAIN2PROXY });

  it.each([
    // Net::SIP t/03: me@example.com → the com hop; subdomain without *.example.com → '*'.
    ['sip:me@example.com', 'udp 127.0.0.50:5070'],
    ['sip:me@somewhere.example.com', 'udp [::1]:5072'],
    ['sip:me@example.org', 'udp 127.0.0.51:5071'],
    ['sip:me@somewhere.example.org', 'udp 127.0.0.52:5099'],
    ['sip:me@a.b.example.org', 'udp 127.0.0.52:5099'],
    ['sip:me@whatever', 'udp [::1]:5072'],
    ['sip:me@EXAMPLE.COM', 'udp 127.0.0.50:5070'],
    ['sip:me@tcp.test', 'tcp 127.0.0.53:5060'],
    ['sip:me@127.0.0.99', 'udp 127.0.0.54:5074'],
    ['sip:me@127.0.0.98', 'udp [::1]:5072'],
    ['sip:me@[::1]', 'udp 127.0.0.56:5076'],
  ])('%s → %s', async (uri, expected) => {
    expect(hop(await r().resolve(uri))).toBe(expected);
  });

  it('drops the request URI port and transport: the hop says how to reach it', async () => {
    expect(hop(await r().resolve('sip:me@example.com:9999;transport=tcp'))).toBe('udp 127.0.0.50:5070');
  });

  it('does not ask DNS about the mapped domain', async () => {
    const before = dns.count('example.com');
    await r().resolve('sip:me@example.com');
    expect(dns.count('example.com')).toBe(before);
  });

  it('a sips: request keeps TLS on the hop (RFC 3261 §26.2.2)', async () => {
    expect(hop(await r().resolve('sips:me@example.com'))).toBe('tls 127.0.0.50:5070');
  });

  it('an explicit maddr wins over domain2proxy, as in Net::SIP', async () => {
    expect(hop(await r().resolve('sip:me@example.com;maddr=127.0.0.7'))).toBe('udp 127.0.0.7:5060');
  });

  it('a hop that does not exist in DNS → 503 (our configuration, not the callee)', async () => {
    const result = await r().resolve('sip:me@missing.test');
    expect(result).toMatchObject({ ok: false, status: 503, code: 'NEXT_HOP_NOT_FOUND' });
  });

  it('"*.example.org" does not match example.org itself', async () => {
    const only = resolver({ domain2proxy: { '*.example.org': '127.0.0.55' } });
    // example.org has no entry and no DNS records: plain resolution → 404.
    expect(hop(await only.resolve('sip:me@example.org'))).toBe('404 NOT_FOUND');
    expect(hop(await only.resolve('sip:me@x.example.org'))).toBe('udp 127.0.0.55:5060');
  });

  it('a domain without an entry and no "*" is resolved by DNS', async () => {
    const some = resolver({ domain2proxy: { 'example.org': '127.0.0.55' } });
    expect(hop(await some.resolve('sip:me@example.com'))).toBe('udp 127.0.0.98:5060');
  });
});

describe('outbound proxy', () => {
  it('takes every request, by URI or host:port, without DNS for the request host', async () => {
    const before = dns.count('anything.test');
    const r = resolver({ outboundProxy: 'sip:127.0.0.60:5080;transport=tcp' });
    expect(hop(await r.resolve('sip:bob@anything.test'))).toBe('tcp 127.0.0.60:5080');
    expect(hop(await r.resolve('sip:bob@127.0.0.1:5062'))).toBe('tcp 127.0.0.60:5080');
    expect(dns.count('anything.test')).toBe(before);
    expect(hop(await resolver({ outboundProxy: '127.0.0.60:5081' }).resolve('sip:bob@anything.test'))).toBe('udp 127.0.0.60:5081');
  });

  it('is resolved through DNS when it is a host name', async () => {
    expect(hop(await resolver({ outboundProxy: 'outbound.test' }).resolve('sip:bob@anything.test'))).toBe('udp 127.0.0.61:5060');
  });

  it('takes tel: URIs too (RFC 3261 §8.1.2)', async () => {
    expect(hop(await resolver({ outboundProxy: '127.0.0.60' }).resolve('tel:+15551234567'))).toBe('udp 127.0.0.60:5060');
  });

  it('domain2proxy entries come first (Net::SIP order)', async () => {
    const r = resolver({ outboundProxy: '127.0.0.60', domain2proxy: { 'example.com': '127.0.0.50' } });
    expect(hop(await r.resolve('sip:bob@example.com'))).toBe('udp 127.0.0.50:5060');
    expect(hop(await r.resolve('sip:bob@example.net'))).toBe('udp 127.0.0.60:5060');
  });

  it('an IPv6 outbound proxy', async () => {
    const result = await resolver({ outboundProxy: 'sip:[::1]:5090' }).resolve('sip:bob@anything.test');
    expect(result).toEqual({ ok: true, destinations: [{ transport: 'udp', address: '::1', port: 5090, family: 6 }] });
  });

  it('a sips: outbound proxy is TLS for every request', async () => {
    expect(hop(await resolver({ outboundProxy: 'sips:127.0.0.60' }).resolve('sip:bob@anything.test'))).toBe('tls 127.0.0.60:5061');
  });

  it('an outbound proxy without a usable transport → 503 NO_TRANSPORT', async () => {
    const r = resolver({ outboundProxy: 'sip:127.0.0.60;transport=udp' });
    expect(hop(await r.resolve('sips:bob@anything.test'))).toBe('503 NO_TRANSPORT');
  });

  it('an outbound proxy name that does not exist → 503', async () => {
    expect(hop(await resolver({ outboundProxy: 'nxdomain.test' }).resolve('sip:bob@anything.test'))).toBe('503 NEXT_HOP_NOT_FOUND');
  });
});

describe('direct resolution (responses, RFC 3263 §5)', () => {
  it('ignores domain2proxy and the outbound proxy', async () => {
    const r = resolver({ outboundProxy: '127.0.0.60', domain2proxy: { '*': '127.0.0.50' } });
    expect(hop(await r.resolve('sip:example.com;transport=udp'))).toBe('udp 127.0.0.50:5060');
    expect(hop(await r.resolve('sip:example.com;transport=udp', { direct: true }))).toBe('udp 127.0.0.98:5060');
    expect(hop(await r.resolve('sip:127.0.0.1:5062;transport=tcp', { direct: true }))).toBe('tcp 127.0.0.1:5062');
  });

  it('a tel: URI cannot be resolved directly → 416', async () => {
    const r = resolver({ outboundProxy: '127.0.0.60' });
    expect(hop(await r.resolve('tel:+15551234567', { direct: true }))).toBe('416 UNSUPPORTED_SCHEME');
  });
});
