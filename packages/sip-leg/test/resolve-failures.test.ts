/**
 * Resolution failures are values with the SIP status a proxy answers (docs/resolver.md):
 * 400 bad URI, 416 other scheme, 404 the domain has no SIP server and no address,
 * 503 DNS failed / no transport / a configured next hop does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegClosedError } from '../src/errors.js';
import { SipResolver, type ResolveResult, type ResolverOptions } from '../src/resolve/index.js';
import { TestDnsServer } from './dns-server.js';

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  dns.aaaa('v6only.test', '::1');
  dns.srv('_sip._udp.nosip.test', { priority: 0, weight: 0, port: 0, target: '.' }).a('nosip.test', '127.0.0.70');
  dns.srv('_sip._udp.dangling.test', { priority: 1, weight: 0, port: 5060, target: 'gone.dangling.test' });
  dns.silent('silent.test').silent('_sip._udp.silent.test').silent('_sip._tcp.silent.test').silent('_sips._tcp.silent.test');
  dns.servfail('broken.test').servfail('_sip._udp.broken.test').servfail('_sip._tcp.broken.test').servfail('_sips._tcp.broken.test');
  // A answers, AAAA never does: the A result is enough.
  dns.a('half.test', '127.0.0.71').silent('half.test', 'AAAA');
  // NAPTR fails, SRV works: carry on.
  dns.servfail('naptrfail.test', 'NAPTR').srv('_sip._udp.naptrfail.test', { priority: 1, weight: 0, port: 5090, target: 'h.naptrfail.test' });
  dns.a('h.naptrfail.test', '127.0.0.72');
  // SRV does not answer but A exists: do not guess the port, answer 503.
  dns.a('srvfail.test', '127.0.0.73').servfail('_sip._udp.srvfail.test');
});

afterAll(async () => {
  await dns.close();
});

function resolver(options: ResolverOptions = {}): SipResolver {
  return new SipResolver({ servers: [dns.address], timeoutMs: 200, tries: 1, ...options });
}

function failed(result: ResolveResult): { status: number; reason: string; code: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.destinations)}`);
  return { status: result.status, reason: result.reason, code: result.code };
}

describe('resolution failures', () => {
  it('NXDOMAIN → 404 Not Found', async () => {
    expect(failed(await resolver().resolve('sip:bob@nowhere.test'))).toEqual({ status: 404, reason: 'Not Found', code: 'NOT_FOUND' });
  });

  it('NODATA (only a family we do not look up) → 404', async () => {
    expect(failed(await resolver({ families: [4] }).resolve('sip:v6only.test')).status).toBe(404);
  });

  it('SRV target "." (service decidedly not available, RFC 2782) → 404 without A fallback', async () => {
    const before = dns.count('nosip.test', 'A');
    expect(failed(await resolver({ transports: ['udp'] }).resolve('sip:nosip.test')).code).toBe('NOT_FOUND');
    expect(dns.count('nosip.test', 'A')).toBe(before);
  });

  it('SRV target without address records → 404', async () => {
    expect(failed(await resolver({ transports: ['udp'] }).resolve('sip:dangling.test')).status).toBe(404);
  });

  it('a DNS server that never answers → 503 after the timeout', async () => {
    const result = await resolver().resolve('sip:silent.test');
    expect(failed(result)).toEqual({ status: 503, reason: 'Service Unavailable', code: 'DNS_FAILURE' });
    expect(!result.ok && result.detail).toContain('ETIMEOUT');
  });

  it('SERVFAIL → 503', async () => {
    const result = await resolver().resolve('sip:broken.test');
    expect(failed(result).code).toBe('DNS_FAILURE');
    expect(!result.ok && result.detail).toContain('ESERVFAIL');
  });

  it('a DNS server that refuses the connection (nothing listening) → 503', async () => {
    const closed = await TestDnsServer.start();
    const address = closed.address;
    await closed.close();
    const r = new SipResolver({ servers: [address], timeoutMs: 200, tries: 1 });
    expect(failed(await r.resolve('sip:anything.test')).status).toBe(503);
  });

  it('uses the A answer when only AAAA times out', async () => {
    const result = await resolver({ transports: ['udp'] }).resolve('sip:half.test:5060');
    expect(result).toEqual({
      ok: true,
      destinations: [{ transport: 'udp', address: '127.0.0.71', port: 5060, family: 4, hostname: 'half.test' }],
    });
  });

  it('carries on with SRV when NAPTR fails', async () => {
    const result = await resolver({ transports: ['udp'] }).resolve('sip:naptrfail.test');
    expect(result.ok && result.destinations.map((d) => `${d.address}:${d.port}`)).toEqual(['127.0.0.72:5090']);
  });

  it('does not fall back to A/AAAA when an SRV question failed (the port would be a guess) → 503', async () => {
    const before = dns.count('srvfail.test', 'A');
    expect(failed(await resolver({ transports: ['udp'] }).resolve('sip:srvfail.test')).code).toBe('DNS_FAILURE');
    expect(dns.count('srvfail.test', 'A')).toBe(before);
  });

  it('an unparsable URI → 400 Bad Request', async () => {
    expect(failed(await resolver().resolve('not a uri'))).toEqual({ status: 400, reason: 'Bad Request', code: 'BAD_URI' });
  });

  it('a tel: or other URI without an outbound proxy → 416', async () => {
    expect(failed(await resolver().resolve('tel:+15551234567'))).toEqual({
      status: 416,
      reason: 'Unsupported URI Scheme',
      code: 'UNSUPPORTED_SCHEME',
    });
    expect(failed(await resolver().resolve('mailto:bob@example.test')).status).toBe(416);
  });

  it('sips: with no TLS leg → 503, before any DNS question', async () => {
    const before = dns.queries.length;
    const result = failed(await resolver({ transports: ['udp', 'tcp'] }).resolve('sips:plain.test'));
    expect(result).toEqual({ status: 503, reason: 'Service Unavailable', code: 'NO_TRANSPORT' });
    expect(dns.queries.length).toBe(before);
  });

  it('transport=sctp, transport=udp in sips:, or a transport without a leg → NO_TRANSPORT', async () => {
    expect(failed(await resolver().resolve('sip:127.0.0.1;transport=sctp')).code).toBe('NO_TRANSPORT');
    expect(failed(await resolver().resolve('sips:127.0.0.1;transport=udp')).code).toBe('NO_TRANSPORT');
    expect(failed(await resolver({ transports: ['udp'] }).resolve('sip:127.0.0.1;transport=tcp')).code).toBe('NO_TRANSPORT');
  });

  it('a sip: URI with only WebSocket legs and no transport parameter → NO_TRANSPORT', async () => {
    expect(failed(await resolver({ transports: ['ws'] }).resolve('sip:127.0.0.1')).code).toBe('NO_TRANSPORT');
  });

  it('close() cancels outstanding questions (503) and later calls throw LegClosedError', async () => {
    const r = resolver({ timeoutMs: 2000 });
    const naptrBefore = dns.count('silent.test', 'NAPTR');
    const srvBefore = dns.count('_sip._udp.silent.test');
    const pending = r.resolve('sip:silent.test');
    // Close only once the NAPTR question is on the wire (bounded wait).
    for (let i = 0; i < 200 && dns.count('silent.test', 'NAPTR') === naptrBefore; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    r.close();
    r.close();
    const result = await pending;
    expect(failed(result).status).toBe(503);
    expect(!result.ok && result.detail).toContain('ECANCELLED');
    // Nothing is asked after close: the SRV step does not go out.
    expect(dns.count('_sip._udp.silent.test')).toBe(srvBefore);
    await expect(r.resolve('sip:127.0.0.1')).rejects.toSatisfy((e) => LegClosedError.isInstance(e));
  });
});

describe('invalid options are start-up errors', () => {
  it.each([
    [{ transports: ['udp', 'sctp'] }],
    [{ families: [] }],
    [{ families: [5] }],
    [{ timeoutMs: 0 }],
    [{ cacheTtlMs: -1 }],
    [{ servers: ['not an address'] }],
    [{ servers: [] }],
    [{ tries: 1.5 }],
    [{ cacheMaxEntries: 0 }],
    [{ domain2proxy: { 'host.test:5060': '127.0.0.1' } }],
    [{ outboundProxy: 'http://proxy.test' }],
    [{ outboundProxy: 'sip:' }],
    [{ domain2proxy: { 'a*b.test': '127.0.0.1' } }],
    [{ domain2proxy: { '*.': '127.0.0.1' } }],
    [{ domain2proxy: { '*.*': '127.0.0.1' } }],
    [{ domain2proxy: { 'ok.test': 'tel:+1555' } }],
  ])('%j', (options) => {
    expect(() => new SipResolver(options as ResolverOptions)).toThrow(expect.objectContaining({ code: 'LEG_INVALID_OPTIONS' }));
  });
});
