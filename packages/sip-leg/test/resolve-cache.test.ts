/**
 * The DNS cache: record TTLs are honoured (capped by cacheTtlMs), negative answers are cached
 * for negativeTtlMs, temporary failures are not cached, concurrent questions share one query.
 * The clock is injected; the DNS server is real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipResolver, type ResolverOptions } from '../src/resolve/index.js';
import { TestDnsServer } from './dns-server.js';

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  dns.a('ttl5.test', '127.0.0.80', 5).a('ttl5.test', '127.0.0.81', 60);
  dns.a('ttl300.test', '127.0.0.82', 300);
  dns.a('flap.test', '127.0.0.83', 300);
  dns.srv('_sip._udp.srvcache.test', { priority: 1, weight: 0, port: 5070, target: 'h.srvcache.test' }, 3600);
  dns.a('h.srvcache.test', '127.0.0.84', 3600);
  dns.servfail('sf.test');
  dns.a('shared.test', '127.0.0.85');
});

afterAll(async () => {
  await dns.close();
});

function clocked(options: ResolverOptions = {}): { resolver: SipResolver; advance: (ms: number) => void } {
  let now = 1_000_000;
  const resolver = new SipResolver({
    servers: [dns.address],
    timeoutMs: 200,
    tries: 1,
    families: [4],
    transports: ['udp'],
    now: () => now,
    ...options,
  });
  return { resolver, advance: (ms) => (now += ms) };
}

describe('DNS cache', () => {
  it('keeps an A answer for the smallest TTL of its records', async () => {
    const { resolver, advance } = clocked();
    const uri = 'sip:ttl5.test:5060';
    const first = await resolver.resolve(uri);
    expect(first.ok && first.destinations.map((d) => d.address)).toEqual(['127.0.0.80', '127.0.0.81']);
    expect(dns.count('ttl5.test', 'A')).toBe(1);
    advance(4_900);
    await resolver.resolve(uri);
    expect(dns.count('ttl5.test', 'A')).toBe(1);
    advance(200);
    const again = await resolver.resolve(uri);
    expect(dns.count('ttl5.test', 'A')).toBe(2);
    expect(again).toEqual(first);
  });

  it('caps a long TTL at cacheTtlMs', async () => {
    const { resolver, advance } = clocked({ cacheTtlMs: 2_000 });
    const before = dns.count('ttl300.test', 'A');
    await resolver.resolve('sip:ttl300.test:5060');
    advance(1_999);
    await resolver.resolve('sip:ttl300.test:5060');
    expect(dns.count('ttl300.test', 'A')).toBe(before + 1);
    advance(2);
    await resolver.resolve('sip:ttl300.test:5060');
    expect(dns.count('ttl300.test', 'A')).toBe(before + 2);
  });

  it('cacheTtlMs 0 turns the cache off', async () => {
    const { resolver } = clocked({ cacheTtlMs: 0 });
    const before = dns.count('ttl300.test', 'A');
    await resolver.resolve('sip:ttl300.test:5060');
    await resolver.resolve('sip:ttl300.test:5060');
    expect(dns.count('ttl300.test', 'A')).toBe(before + 2);
  });

  it('sees a changed record only after the cached answer expires', async () => {
    const { resolver, advance } = clocked({ cacheTtlMs: 10_000 });
    const uri = 'sip:flap.test:5060';
    const addr = async (): Promise<string | undefined> => {
      const r = await resolver.resolve(uri);
      return r.ok ? r.destinations[0]?.address : `${r.status}`;
    };
    expect(await addr()).toBe('127.0.0.83');
    dns.remove('flap.test').a('flap.test', '127.0.0.86', 300);
    advance(9_000);
    expect(await addr()).toBe('127.0.0.83');
    advance(1_001);
    expect(await addr()).toBe('127.0.0.86');
  });

  it('keeps SRV answers for the cap (node:dns gives no SRV TTL) and their targets for their TTL', async () => {
    const { resolver, advance } = clocked({ cacheTtlMs: 60_000 });
    const uri = 'sip:srvcache.test';
    await resolver.resolve(uri);
    await resolver.resolve(uri);
    expect(dns.count('_sip._udp.srvcache.test', 'SRV')).toBe(1);
    expect(dns.count('h.srvcache.test', 'A')).toBe(1);
    expect(dns.count('srvcache.test', 'NAPTR')).toBe(1);
    advance(60_001);
    await resolver.resolve(uri);
    expect(dns.count('_sip._udp.srvcache.test', 'SRV')).toBe(2);
    expect(dns.count('srvcache.test', 'NAPTR')).toBe(2);
  });

  it('caches NXDOMAIN for negativeTtlMs', async () => {
    const { resolver, advance } = clocked({ negativeTtlMs: 5_000 });
    expect(await resolver.resolve('sip:gone.test:5060')).toMatchObject({ ok: false, status: 404 });
    await resolver.resolve('sip:gone.test:5060');
    expect(dns.count('gone.test', 'A')).toBe(1);
    advance(5_001);
    await resolver.resolve('sip:gone.test:5060');
    expect(dns.count('gone.test', 'A')).toBe(2);
  });

  it('never caches a temporary failure', async () => {
    const { resolver } = clocked();
    await resolver.resolve('sip:sf.test:5060');
    await resolver.resolve('sip:sf.test:5060');
    expect(dns.count('sf.test', 'A')).toBe(2);
  });

  it('shares one query between concurrent resolutions of the same name', async () => {
    const { resolver } = clocked({ cacheTtlMs: 0 });
    const results = await Promise.all([1, 2, 3, 4].map(() => resolver.resolve('sip:shared.test:5060')));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(dns.count('shared.test', 'A')).toBe(1);
  });

  it('stays within cacheMaxEntries, dropping the oldest answer first', async () => {
    const { resolver } = clocked({ cacheMaxEntries: 2 });
    const count = (): number[] => ['ttl300.test', 'ttl5.test', 'flap.test'].map((n) => dns.count(n, 'A'));
    const start = count();
    for (const name of ['ttl300.test', 'ttl5.test', 'flap.test']) await resolver.resolve(`sip:${name}:5060`);
    // ttl300.test was evicted by flap.test; ttl5.test and flap.test are still cached.
    await resolver.resolve('sip:flap.test:5060');
    await resolver.resolve('sip:ttl5.test:5060');
    await resolver.resolve('sip:ttl300.test:5060');
    expect(count().map((c, i) => c - (start[i] as number))).toEqual([2, 1, 1]);
  });

  it('clearCache() forgets every answer', async () => {
    const { resolver } = clocked();
    const before = dns.count('ttl300.test', 'A');
    await resolver.resolve('sip:ttl300.test:5060');
    resolver.clearCache();
    await resolver.resolve('sip:ttl300.test:5060');
    expect(dns.count('ttl300.test', 'A')).toBe(before + 2);
  });
});
