/**
 * Two registrars ("two proxies", each with its own in-memory network and legs) sharing one real
 * redis-server; then Redis stops mid-test and comes back on the same port.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocationStoreError } from '../src/index.js';
import type { RegistrarLogger } from '../src/index.js';
import { RedisLocationStore } from '../src/stores/redis/index.js';
import { contactsOf, setup } from './helpers.js';
import type { Setup } from './helpers.js';
import { startRedisServer } from '@sipway/test-peers';
import type { RedisServer } from '@sipway/test-peers';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.destroy();
});

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let prefixes = 0;

/** A registrar on its own in-memory network, with a Redis store; real clock (Redis expires keys by it). */
async function proxy(prefix: string, logger?: RegistrarLogger): Promise<{ s: Setup; store: RedisLocationStore }> {
  const store = await RedisLocationStore.connect({ url: server.url(), prefix, commandTimeoutMs: 500, connectTimeoutMs: 500, logger });
  const s = await setup({ store, clock: Date.now, retryAfter: 3 });
  cleanup.push(() => store.close(), () => s.close());
  return { s, store };
}

/** Measures how long a promise takes to settle. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = Date.now();
  const [result] = await Promise.allSettled([promise]);
  return { ms: Date.now() - started, result: result as PromiseSettledResult<T> };
}

describe('two registrars on one Redis', () => {
  it('a binding registered through one is found through the other, and removed through the other', async () => {
    const prefix = `pair${++prefixes}:`;
    const a = await proxy(prefix);
    const b = await proxy(prefix);
    expect((await a.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>;q=0.9'], expires: 120 })).status).toBe(200);
    const found = await b.s.registrar.lookup('sip:alice@example.com:5060;transport=udp');
    expect(found.map((x) => [x.contact, x.q])).toEqual([['sip:alice@10.0.0.2:5060', 0.9]]);
    expect(await b.s.registrar.knows('sip:alice@example.com')).toBe(true);
    // A second device registers through the other proxy: merged, not replaced (RFC 3261 §10.3 step 7).
    const viaB = await b.s.register({ contacts: ['<sip:alice@10.0.0.9:5060>'], expires: 60, callId: 'other-device@10.0.0.9' });
    expect(contactsOf(viaB).map((c) => c.uri).sort()).toEqual(['sip:alice@10.0.0.2:5060', 'sip:alice@10.0.0.9:5060']);
    expect((await a.s.registrar.lookup('sip:alice@example.com')).map((x) => x.contact).sort()).toEqual(['sip:alice@10.0.0.2:5060', 'sip:alice@10.0.0.9:5060']);
    // Contact: * through B removes everything A sees.
    expect((await b.s.register({ contacts: ['*'], expires: 0, callId: 'other-device@10.0.0.9' })).status).toBe(200);
    expect(await a.s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('REGISTERs for one AOR arriving at both at once lose nothing (version check across processes)', async () => {
    const prefix = `pair${++prefixes}:`;
    const a = await proxy(prefix);
    const b = await proxy(prefix);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).s.register({ contacts: [`<sip:dev${i}@10.0.0.${i + 10}:5060>`], expires: 120, callId: `dev${i}@x` })),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const bound = (await a.s.registrar.lookup('sip:alice@example.com')).map((x) => x.contact).sort();
    expect(bound).toEqual(Array.from({ length: 6 }, (_, i) => `sip:dev${i}@10.0.0.${i + 10}:5060`).sort());
  });
});

describe('Redis stops mid-test and comes back', () => {
  it('REGISTER answers 503 with Retry-After, lookups reject fast, nothing crashes; recovery is automatic', async () => {
    const prefix = `outage${++prefixes}:`;
    const warnings: string[] = [];
    const a = await proxy(prefix, { warn: (_f, m) => warnings.push(m) });
    const b = await proxy(prefix);
    expect((await a.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 })).status).toBe(200);

    await server.stop('SIGKILL');

    const during = await a.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 });
    expect(during.status).toBe(503);
    expect(during.getHeader('retry-after')).toBe('3');
    const lookup = await timed(b.s.registrar.lookup('sip:alice@example.com'));
    expect(lookup.result.status).toBe('rejected');
    expect(LocationStoreError.isInstance((lookup.result as PromiseRejectedResult).reason)).toBe(true);
    // Fails fast: far below the client's SIP timers (a generous bound for a loaded machine).
    expect(lookup.ms).toBeLessThan(2000);
    // The sweep timer or an expire() failing must not throw either.
    await expect(b.s.registrar.expire()).rejects.toSatisfy(LocationStoreError.isInstance);
    expect(warnings.some((w) => /connection problem/.test(w))).toBe(true);

    await server.start();

    // ioredis reconnects by itself (at most one attempt a second): poll, bounded.
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await a.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    // Redis came back empty (no persistence): the REGISTER above put the binding back, B sees it.
    await expect.poll(() => b.s.registrar.lookup('sip:alice@example.com').then((x) => x.map((y) => y.contact), () => []), { timeout: 15_000, interval: 200 }).toEqual(['sip:alice@10.0.0.2:5060']);
    expect(warnings.some((w) => /connected again/.test(w))).toBe(true);
  });

  it('a Redis that hangs (SIGSTOP) makes calls fail after the command timeout, not hang', async () => {
    const prefix = `hang${++prefixes}:`;
    const a = await proxy(prefix);
    expect((await a.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 })).status).toBe(200);
    await server.pause();
    try {
      const lookup = await timed(a.s.registrar.lookup('sip:alice@example.com'));
      expect(lookup.result.status).toBe('rejected');
      expect(LocationStoreError.isInstance((lookup.result as PromiseRejectedResult).reason)).toBe(true);
      expect(lookup.ms).toBeLessThan(3000);
      const during = await a.s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 });
      expect(during.status).toBe(503);
    } finally {
      server.signal('SIGCONT');
    }
    await expect.poll(() => a.s.registrar.lookup('sip:alice@example.com').then((x) => x.length, () => -1), { timeout: 15_000, interval: 200 }).toBe(1);
  });
});
