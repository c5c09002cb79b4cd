import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocationStoreError, RegistrarClosedError, RegistrarOptionsError } from '../src/index.js';
import type { Binding } from '../src/index.js';
import { RedisLocationStore } from '../src/stores/redis/index.js';
import { binding, describeLocationStore } from './store-contract.js';
import { startRedisServer } from '@sipway/test-peers';
import type { RedisServer } from '@sipway/test-peers';

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url(), { lazyConnect: true });
  await admin.connect();
});
afterAll(async () => {
  admin?.disconnect();
  await server?.destroy();
});

let prefixes = 0;
/** A prefix no other test uses, so tests on the one server do not see each other. */
function freshPrefix(): string {
  return `test${++prefixes}:`;
}
const stores: RedisLocationStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});
async function connect(options: { prefix?: string; commandTimeoutMs?: number } = {}): Promise<RedisLocationStore> {
  const store = await RedisLocationStore.connect({ url: server.url(), prefix: options.prefix ?? freshPrefix(), ...options });
  stores.push(store);
  return store;
}

const T = Date.UTC(2030, 0, 1);
const AOR = 'sip:alice@example.com';

describeLocationStore('RedisLocationStore', () => RedisLocationStore.connect({ url: server.url(), prefix: freshPrefix() }));

describe('RedisLocationStore: keys and TTL', () => {
  it('one hash per AOR under the prefix, with a TTL at the end of the record', async () => {
    const prefix = freshPrefix();
    const store = await connect({ prefix });
    const now = Date.now();
    await store.save(AOR, [binding('sip:a@h', now + 30_000)], { expectedVersion: 0, expiresAt: now + 60_000 });
    const key = `${prefix}aor:${AOR}`;
    expect(await admin.type(key)).toBe('hash');
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // A binding outliving expiresAt keeps the key until it lapses.
    const record = await store.lookup(AOR);
    await store.save(AOR, [binding('sip:a@h', now + 90_000)], { expectedVersion: record?.version ?? 0, expiresAt: now + 60_000 });
    expect(await admin.pttl(key)).toBeGreaterThan(80_000);
  });

  it('a key goes away by itself when the record ends, with no expire() call', async () => {
    const store = await connect();
    const now = Date.now();
    await store.save(AOR, [binding('sip:a@h', now + 150)], { expectedVersion: 0, expiresAt: now + 300 });
    expect(await store.lookup(AOR)).toBeDefined();
    const deadline = Date.now() + 5000;
    while ((await store.lookup(AOR)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await store.lookup(AOR)).toBeUndefined();
    expect(await store.list()).toEqual([]);
    // The index entry left behind is cleaned by the next expire, which counts nothing for it.
    expect(await store.expire(Date.now())).toBe(0);
  });

  it('bindings come back exactly as saved (no re-encoding): order, q, params with null, unicode, large numbers', async () => {
    const store = await connect();
    const bindings: Binding[] = [
      binding('sip:zeta@h', T + 5000, { q: 0.001, cseq: 2 ** 31 - 1, params: { '+sip.instance': '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"', ob: null, 'reg-id': '1' } }),
      binding('sip:%C3%A9t%C3%A9@h;transport=tcp', T + 1000, { callId: 'ça@ü', updated: T - 1, source: { transport: 'tcp', address: '::1', port: 65535 } }),
      binding('sip:alpha@h', T + 3000, { params: {} }),
    ];
    await store.save(AOR, bindings, { expectedVersion: 0, expiresAt: T + 9000 });
    const record = await store.lookup(AOR);
    expect(record?.bindings).toEqual(bindings);
    expect(record?.expiresAt).toBe(T + 9000);
    // remove and expire run in Lua: the bindings they keep are still byte-identical and in order.
    await store.remove(AOR, 'sip:alpha@h');
    await store.expire(T + 1000);
    expect((await store.lookup(AOR))?.bindings).toEqual([bindings[0]]);
  });

  it('a version is never reused for an AOR removed and made again (no ABA across proxies)', async () => {
    const store = await connect();
    const first = await store.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    await store.remove(AOR);
    const second = await store.save(AOR, [binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    expect(second.version).toBeGreaterThan(first.version);
    expect((await store.save(AOR, [], { expectedVersion: first.version, expiresAt: T })).ok).toBe(false);
  });

  it('list() walks every AOR once with SCAN (more than one SCAN page)', async () => {
    const store = await connect();
    const count = 1200;
    await Promise.all(Array.from({ length: count }, (_, i) => store.save(`sip:u${i}@example.com`, [binding(`sip:u${i}@h`, T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 })));
    const aors = (await store.list()).map((r) => r.aor);
    expect(aors).toHaveLength(count);
    expect(new Set(aors).size).toBe(count);
    // expire() handles them in batches and empties the index.
    expect(await store.expire(T + 1000)).toBe(count);
    expect(await store.list()).toEqual([]);
  });

  it('expire() only visits AORs with something due (the index), and reschedules the rest', async () => {
    const prefix = freshPrefix();
    const store = await connect({ prefix });
    await store.save('sip:soon@example.com', [binding('sip:s@h', T + 1000), binding('sip:l@h', T + 5000)], { expectedVersion: 0, expiresAt: T + 9000 });
    await store.save('sip:later@example.com', [binding('sip:x@h', T + 7000)], { expectedVersion: 0, expiresAt: T + 8000 });
    expect(await admin.zrange(`${prefix}expiry`, 0, -1, 'WITHSCORES')).toEqual(['sip:soon@example.com', String(T + 1000), 'sip:later@example.com', String(T + 7000)]);
    expect(await store.expire(T + 1000)).toBe(1);
    expect(await admin.zscore(`${prefix}expiry`, 'sip:soon@example.com')).toBe(String(T + 5000));
    expect(await store.expire(T + 8000)).toBe(2);
    expect(await admin.zrange(`${prefix}expiry`, 0, -1)).toEqual(['sip:soon@example.com']);
  });
});

describe('RedisLocationStore: sharing one Redis', () => {
  it('two stores with one prefix (two proxies) see each other at once; their saves conflict like one store', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    const saved = await a.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    expect((await b.lookup(AOR))?.bindings.map((x) => x.contact)).toEqual(['sip:a@h']);
    expect(await b.save(AOR, [binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 })).toEqual({ ok: false, conflict: true, version: saved.version });
    const results = await Promise.all([a, b, a, b].map((s, i) => s.save(AOR, [binding(`sip:${i}@h`, T + 1000)], { expectedVersion: saved.version, expiresAt: T + 1000 })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('different prefixes (domains, proxy groups) do not see each other', async () => {
    const a = await connect({ prefix: 'site-a:' });
    const b = await connect({ prefix: 'site-b:' });
    await a.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    expect(await b.lookup(AOR)).toBeUndefined();
    expect(await b.list()).toEqual([]);
    expect(await b.expire(T + 5000)).toBe(0);
    expect(await a.lookup(AOR)).toBeDefined();
    expect(await b.remove(AOR)).toBe(0);
    expect(await a.lookup(AOR)).toBeDefined();
  });

  it('a prefix with glob characters is matched literally by list()', async () => {
    const a = await connect({ prefix: 'glob*[x]?:' });
    const b = await connect({ prefix: 'globAxB:' });
    await a.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    await b.save('sip:bob@example.com', [binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    expect((await a.list()).map((r) => r.aor)).toEqual([AOR]);
  });

  it('the URL can carry the prefix: redis://host:port/db?prefix=', async () => {
    const a = await RedisLocationStore.connect(`${server.url(1)}?prefix=fromurl:`);
    stores.push(a);
    expect(a.prefix).toBe('fromurl:');
    await a.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    const db1 = new Redis(server.url(1));
    try {
      expect(await db1.exists(`fromurl:aor:${AOR}`)).toBe(1);
      expect(await admin.exists(`fromurl:aor:${AOR}`)).toBe(0);
    } finally {
      db1.disconnect();
    }
  });
});

describe('RedisLocationStore: construction and clients', () => {
  it('rejects bad options at construction', () => {
    expect(() => new RedisLocationStore('http://127.0.0.1:6379')).toThrow(RegistrarOptionsError);
    expect(() => new RedisLocationStore({})).toThrow(RegistrarOptionsError);
    expect(() => new RedisLocationStore({ url: server.url(), commandTimeoutMs: 0 })).toThrow(RegistrarOptionsError);
  });

  it('connect() to a port where no Redis listens rejects with a LocationStoreError in bounded time', async () => {
    const started = Date.now();
    const error = await RedisLocationStore.connect({ url: 'redis://127.0.0.1:1/0', connectTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(LocationStoreError.isInstance(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('uses a given ioredis client and leaves it open on close', async () => {
    const client = new Redis(server.url());
    const store = await RedisLocationStore.connect(client);
    await store.save(AOR, [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
    expect(store.prefix).toBe('sipway:location:');
    await store.close();
    expect(await client.ping()).toBe('PONG');
    await expect(store.lookup(AOR)).rejects.toThrow(RegistrarClosedError);
    await client.del(`sipway:location:aor:${AOR}`, 'sipway:location:expiry');
    client.disconnect();
  });

  it('data not in its format is a LocationStoreError, not a crash', async () => {
    const prefix = freshPrefix();
    const store = await connect({ prefix });
    await admin.hset(`${prefix}aor:${AOR}`, 'something', 'else');
    await expect(store.lookup(AOR)).rejects.toSatisfy(LocationStoreError.isInstance);
    await admin.set(`${prefix}aor:sip:bob@example.com`, 'a string');
    await expect(store.lookup('sip:bob@example.com')).rejects.toSatisfy(LocationStoreError.isInstance);
  });
});

describe('ioredis is optional', () => {
  it('neither the core entry nor the file store imports ioredis (only @sipway/registrar/redis does)', async () => {
    const { readFileSync } = await import('node:fs');
    const { dirname, resolve } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
    /** Every bare module a file reaches through its relative imports. */
    function reach(file: string, seen = new Set<string>(), bare = new Set<string>()): Set<string> {
      if (seen.has(file)) return bare;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, fromSpec, dynamicSpec] of text.matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'|import\('([^']+)'\)/g)) {
        const spec = fromSpec ?? dynamicSpec;
        if (spec === undefined) continue;
        if (spec.startsWith('.')) reach(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), seen, bare);
        else bare.add(spec);
      }
      return bare;
    }
    expect([...reach(resolve(src, 'index.ts'))]).not.toContain('ioredis');
    expect([...reach(resolve(src, 'stores/file/index.ts'))]).not.toContain('ioredis');
    expect([...reach(resolve(src, 'stores/redis/index.ts'))]).toContain('ioredis');
  });
});
