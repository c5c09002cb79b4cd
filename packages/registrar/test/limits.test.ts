/**
 * The caps on what REGISTERs may create: bindings per AOR (403), AORs per source address (403,
 * per process), AORs in total (503 with Retry-After), and the sampled log line of refusals.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import type { SipResponse } from '@sipway/sip-message';
import { Dispatcher } from '@sipway/sip-leg';
import { Registrar, RegistrarOptionsError } from '../src/index.js';
import { SourceIndex, sourceKey } from '../src/limits.js';
import { FileLocationStore } from '../src/stores/file/index.js';
import { RedisLocationStore } from '../src/stores/redis/index.js';
import { registerText, setup } from './helpers.js';
import type { RegisterArgs, Setup } from './helpers.js';
import { startRedisServer, until } from '@sipway/test-peers';
import type { RedisServer } from '@sipway/test-peers';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.destroy();
});

/** A registrar with a logger that keeps its warn lines, and clients at other addresses. */
async function registrar(options: Parameters<typeof setup>[0] = {}) {
  const warnings: string[] = [];
  const s = await setup({ logger: { warn: (_f, line) => warnings.push(line) }, ...options });
  cleanup.push(() => s.close());
  const clients = new Map<string, Promise<(args: RegisterArgs) => Promise<SipResponse>>>();
  let cseq = 0;
  function from(address: string): Promise<(args: RegisterArgs) => Promise<SipResponse>> {
    let client = clients.get(address);
    if (client === undefined) clients.set(address, (client = open(address)));
    return client;
  }
  async function open(address: string) {
    const leg = s.net.createLeg({ address, port: 5062 });
    const responses: SipResponse[] = [];
    leg.onReceive = (m) => {
      if (!m.isRequest) responses.push(m);
    };
    await leg.start();
    cleanup.push(() => leg.close());
    const via = address.includes(':') ? `[${address}]:5062` : `${address}:5062`;
    const send = async (args: RegisterArgs): Promise<SipResponse> => {
      const request = parseMessage(registerText(args, via, { callId: `c-${address}`, cseq: ++cseq }));
      const branch = request.topVia?.branch;
      const sent = await leg.send(request, { transport: 'udp', address: '10.0.0.1', port: 5060, family: 4 });
      if (!sent.ok) throw new Error(sent.reason);
      await until(() => responses.some((r) => r.topVia?.branch === branch));
      return responses.find((r) => r.topVia?.branch === branch) as SipResponse;
    };
    return send;
  }
  const reg = (address: string, user: string, contacts = [`<sip:${user}@${address.includes(':') ? `[${address}]` : address}:5062>`], expires = 60) =>
    from(address).then((send) => send({ to: `sip:${user}@example.com`, contacts, expires, callId: `${user}-${address}` }));
  return { s, warnings, reg };
}

describe('bindings per AOR', () => {
  it('default 10: eleven contacts in one REGISTER get 403 Too Many Bindings and change nothing', async () => {
    const { s, warnings, reg } = await registrar();
    const eleven = Array.from({ length: 11 }, (_, i) => `<sip:d${i}@10.0.0.5:5062>`);
    const r = await reg('10.0.0.5', 'alice', eleven);
    expect([r.status, r.reason]).toEqual([403, 'Too Many Bindings']);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(0);
    expect((await reg('10.0.0.5', 'alice', eleven.slice(0, 10))).status).toBe(200);
    expect((await reg('10.0.0.5', 'alice', ['<sip:d99@10.0.0.5:5062>'])).status).toBe(403);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(10);
    expect(warnings).toEqual(['sipway registrar-limit source=10.0.0.5 limit=bindings-per-aor refused=1 aor="sip:alice@example.com"']);
  });
});

describe('AORs per source address', () => {
  it('refuses the AOR after the cap with 403, keeps refreshes, lets other sources register, frees slots on removal and expiry', async () => {
    const { s, warnings, reg } = await registrar({ maxAorsPerSource: 3 });
    for (const u of ['u1', 'u2', 'u3']) expect((await reg('10.0.0.66', u)).status).toBe(200);
    const refused = await reg('10.0.0.66', 'u4');
    expect([refused.status, refused.reason]).toEqual([403, 'Too Many Registrations']);
    expect(await s.registrar.knows('sip:u4@example.com')).toBe(false);
    // A refresh of what it holds, and another source, are fine.
    expect((await reg('10.0.0.66', 'u1')).status).toBe(200);
    expect((await reg('10.0.0.7', 'u4')).status).toBe(200);
    // Adding a binding to an AOR another source holds is one more AOR for this source.
    expect((await reg('10.0.0.66', 'u4')).status).toBe(403);
    // Removing one of its bindings frees a slot.
    expect((await reg('10.0.0.66', 'u3', undefined, 0)).status).toBe(200);
    expect((await reg('10.0.0.66', 'u5')).status).toBe(200);
    expect((await reg('10.0.0.66', 'u6')).status).toBe(403);
    // Lapsed bindings free their slots too.
    s.advance(61);
    for (const u of ['u6', 'u7', 'u8']) expect((await reg('10.0.0.66', u)).status).toBe(200);
    expect(warnings[0]).toBe('sipway registrar-limit source=10.0.0.66 limit=aors-per-source refused=1 aor="sip:u4@example.com"');
  });

  it('writes one line per source and cap per 10 s with the count refused meanwhile', async () => {
    const { s, warnings, reg } = await registrar({ maxAorsPerSource: 1 });
    expect((await reg('10.0.0.66', 'u0')).status).toBe(200);
    for (let i = 1; i <= 25; i++) expect((await reg('10.0.0.66', `u${i}`)).status).toBe(403);
    expect(warnings).toHaveLength(1);
    s.advance(11);
    expect((await reg('10.0.0.66', 'u26')).status).toBe(403);
    expect(warnings).toEqual([
      'sipway registrar-limit source=10.0.0.66 limit=aors-per-source refused=1 aor="sip:u1@example.com"',
      'sipway registrar-limit source=10.0.0.66 limit=aors-per-source refused=25 aor="sip:u26@example.com"',
    ]);
  });

  it('counts concurrent REGISTERs from one source exactly and exempts trustedSources', async () => {
    const { reg } = await registrar({ maxAorsPerSource: 5, trustedSources: ['10.0.1.0/24'] });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => reg('10.0.0.66', `v${i}`)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status === 403)).toHaveLength(15);
    const trusted = await Promise.all(Array.from({ length: 20 }, (_, i) => reg('10.0.1.9', `t${i}`)));
    expect(trusted.every((r) => r.status === 200)).toBe(true);
  });

  it('counts an IPv6 /64 as one source (a host can take a fresh address from it for every REGISTER)', () => {
    const index = new SourceIndex();
    const b = (address: string) => ({ contact: 'sip:x@h', expires: 100, callId: 'c', cseq: 1, updated: 0, source: { transport: 'udp', address, port: 1 } });
    for (let i = 1; i <= 5; i++) index.update(`sip:a${i}@x`, [], [b(`2001:db8:1:2::${i}`)]);
    index.update('sip:other@x', [], [b('2001:db8:1:3::1')]);
    expect(index.key('2001:db8:1:2:ffff::1')).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(index.count(index.key('2001:db8:1:2:ffff::1'), 50)).toBe(5);
    expect(index.count(index.key('2001:db8:1:3::9'), 50)).toBe(1);
    expect(new SourceIndex(128).key('2001:db8:1:2::1')).toBe('2001:db8:1:2::1');
    const dispatcher = new Dispatcher({ legs: [] });
    expect(() => new Registrar({ dispatcher, domains: ['*'], ipv6SourcePrefix: 0 })).toThrow(/ipv6SourcePrefix/);
  });

  it('folds IPv4-mapped IPv6 sources into IPv4 and forgets lapsed entries', () => {
    expect(sourceKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(sourceKey('2001:DB8::1', 128)).toBe('2001:db8::1');
    const index = new SourceIndex();
    const b = (address: string, expires: number) => ({ contact: 'sip:x@h', expires, callId: 'c', cseq: 1, updated: 0, source: { transport: 'udp', address, port: 1 } });
    index.update('sip:a@x', [], [b('::ffff:192.0.2.7', 100)]);
    index.update('sip:b@x', [], [b('192.0.2.7', 200)]);
    expect(index.count('192.0.2.7', 50)).toBe(2);
    expect(index.count('192.0.2.7', 150)).toBe(1);
    index.update('sip:b@x', [b('192.0.2.7', 200)], []);
    expect(index.count('192.0.2.7', 150)).toBe(0);
  });
});

describe('AORs in total', () => {
  it('memory store: a new AOR beyond maxAors gets 503 with Retry-After; known AORs still update', async () => {
    const { warnings, reg } = await registrar({ maxAors: 2, fullRetryAfter: 90 });
    expect((await reg('10.0.0.5', 'a')).status).toBe(200);
    expect((await reg('10.0.0.6', 'b')).status).toBe(200);
    const full = await reg('10.0.0.7', 'c');
    expect(full.status).toBe(503);
    expect(full.getHeader('Retry-After')).toBe('90');
    expect((await reg('10.0.0.7', 'a')).status).toBe(200);
    expect(warnings).toEqual(['sipway registrar-limit source=10.0.0.7 limit=aors refused=1 aor="sip:c@example.com"']);
  });

  it('file store: counted from the store, including AORs restored from the snapshot', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sipway-limits-')), 'b.json');
    const first = await FileLocationStore.open({ path, flushIntervalMs: 0 });
    const one = await registrar({ store: first, clock: Date.now, maxAors: 3 });
    expect((await one.reg('10.0.0.5', 'a')).status).toBe(200);
    expect((await one.reg('10.0.0.5', 'b')).status).toBe(200);
    await one.s.close();
    await first.close();
    const again = await FileLocationStore.open({ path });
    cleanup.push(() => again.close());
    const two = await registrar({ store: again, clock: Date.now, maxAors: 3 });
    expect((await two.reg('10.0.0.5', 'c')).status).toBe(200);
    expect((await two.reg('10.0.0.5', 'd')).status).toBe(503);
  });

  it('Redis store: the total is shared by every registrar on the Redis (the per-source count is per process)', async () => {
    const prefix = `limits${Date.now()}:`;
    const stores = await Promise.all([0, 1].map(() => RedisLocationStore.connect({ url: redis.url(), prefix })));
    for (const st of stores) cleanup.push(() => st.close());
    const a = await registrar({ store: stores[0], clock: Date.now, maxAors: 3, maxAorsPerSource: 2 });
    const b = await registrar({ store: stores[1], clock: Date.now, maxAors: 3, maxAorsPerSource: 2 });
    expect((await a.reg('10.0.0.5', 'a')).status).toBe(200);
    expect((await a.reg('10.0.0.5', 'b')).status).toBe(200);
    expect((await a.reg('10.0.0.5', 'c')).status).toBe(403);
    // The same source through the other registrar starts from zero (documented: per process)…
    expect((await b.reg('10.0.0.5', 'c')).status).toBe(200);
    // …but the total is the Redis's.
    const full = await b.reg('10.0.0.6', 'd');
    expect(full.status).toBe(503);
    expect(await stores[0]!.count()).toBe(3);
  });
});

describe('options', () => {
  it('refuses bad caps and trusted sources', () => {
    const dispatcher = new Dispatcher({ legs: [] });
    expect(() => new Registrar({ dispatcher, domains: ['*'], maxAorsPerSource: -1 })).toThrow(RegistrarOptionsError);
    expect(() => new Registrar({ dispatcher, domains: ['*'], maxAors: 1.5 })).toThrow(/maxAors must be an integer/);
    expect(() => new Registrar({ dispatcher, domains: ['*'], trustedSources: ['10.0.0.0/33'] })).toThrow(/bad prefix length/);
    expect(() => new Registrar({ dispatcher, domains: ['*'], trustedSources: ['proxy.example.com'] })).toThrow(/not an IP address/);
  });
});

export type { Setup };
