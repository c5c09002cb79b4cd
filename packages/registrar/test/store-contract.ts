/**
 * The behaviour every {@link LocationStore} must have, as a vitest suite a store's own test file
 * runs: `describeLocationStore('redis', () => RedisLocationStore.connect(url))`. The memory store
 * runs it in memory-store.test.ts; the file and Redis stores of issue 6 reuse it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Binding, LocationStore } from '../src/index.js';

export interface StoreContractOptions {
  /** Called after each test with the store (after it was closed, unless the test closed it). */
  cleanup?: (store: LocationStore) => Promise<void> | void;
}

const T = Date.UTC(2030, 0, 1);

export function binding(contact: string, expires: number, extra: Partial<Binding> = {}): Binding {
  return { contact, expires, callId: `cid-${contact}`, cseq: 1, updated: T, ...extra };
}

export function describeLocationStore(name: string, create: () => Promise<LocationStore> | LocationStore, options: StoreContractOptions = {}): void {
  describe(`LocationStore contract: ${name}`, () => {
    const open: LocationStore[] = [];
    afterEach(async () => {
      for (const store of open.splice(0)) {
        await store.close();
        await options.cleanup?.(store);
      }
    });
    async function make(): Promise<LocationStore> {
      const store = await create();
      open.push(store);
      return store;
    }

    it('an unknown AOR has no record', async () => {
      const store = await make();
      expect(await store.lookup('sip:nobody@example.com')).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });

    it('save with expectedVersion 0 creates the record; lookup gives back the same plain JSON', async () => {
      const store = await make();
      const b = binding('sip:a@10.0.0.1', T + 60_000, { q: 0.5, params: { 'reg-id': '1', '+sip.instance': '"<urn:uuid:1>"', ob: null }, source: { transport: 'udp', address: '10.0.0.1', port: 5060 } });
      const saved = await store.save('sip:alice@example.com', [b], { expectedVersion: 0, expiresAt: T + 120_000 });
      expect(saved).toEqual({ ok: true, version: expect.any(Number) });
      const record = await store.lookup('sip:alice@example.com');
      expect(record).toEqual({ aor: 'sip:alice@example.com', bindings: [b], expiresAt: T + 120_000, version: saved.version });
      expect(JSON.parse(JSON.stringify(record))).toEqual(record);
      expect(saved.version).toBeGreaterThan(0);
    });

    it('save replaces the whole binding list and changes the version', async () => {
      const store = await make();
      const first = await store.save('sip:alice@example.com', [binding('sip:a@h', T + 1000), binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      const second = await store.save('sip:alice@example.com', [binding('sip:c@h', T + 2000)], { expectedVersion: first.version, expiresAt: T + 2000 });
      expect(second.ok).toBe(true);
      expect(second.version).not.toBe(first.version);
      const record = await store.lookup('sip:alice@example.com');
      expect(record?.bindings.map((x) => x.contact)).toEqual(['sip:c@h']);
      expect(record?.version).toBe(second.version);
    });

    it('a save with a stale version is a conflict and changes nothing', async () => {
      const store = await make();
      const first = await store.save('sip:alice@example.com', [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      const conflict = await store.save('sip:alice@example.com', [binding('sip:x@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      expect(conflict).toEqual({ ok: false, conflict: true, version: first.version });
      const wrong = await store.save('sip:alice@example.com', [], { expectedVersion: first.version + 1000, expiresAt: T + 1000 });
      expect(wrong.ok).toBe(false);
      expect((await store.lookup('sip:alice@example.com'))?.bindings.map((x) => x.contact)).toEqual(['sip:a@h']);
    });

    it('of concurrent saves from the same version exactly one wins', async () => {
      const store = await make();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.save('sip:alice@example.com', [binding(`sip:${i}@h`, T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const winner = results.findIndex((r) => r.ok);
      expect((await store.lookup('sip:alice@example.com'))?.bindings.map((x) => x.contact)).toEqual([`sip:${winner}@h`]);
    });

    it('what a caller gets is a copy: changing it does not change the store', async () => {
      const store = await make();
      const b = binding('sip:a@h', T + 1000);
      await store.save('sip:alice@example.com', [b], { expectedVersion: 0, expiresAt: T + 1000 });
      b.contact = 'sip:changed@h';
      const record = await store.lookup('sip:alice@example.com');
      const got = record?.bindings[0];
      if (got !== undefined) got.contact = 'sip:changed-too@h';
      const listed = (await store.list())[0]?.bindings[0];
      if (listed !== undefined) listed.contact = 'sip:changed-three@h';
      expect(got).toBeDefined();
      expect(listed).toBeDefined();
      expect((await store.lookup('sip:alice@example.com'))?.bindings[0]?.contact).toBe('sip:a@h');
    });

    it('AORs are independent', async () => {
      const store = await make();
      await store.save('sip:alice@example.com', [binding('sip:a@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      await store.save('sip:bob@example.com', [binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      await store.remove('sip:alice@example.com');
      expect(await store.lookup('sip:alice@example.com')).toBeUndefined();
      expect((await store.lookup('sip:bob@example.com'))?.bindings).toHaveLength(1);
      expect((await store.list()).map((r) => r.aor)).toEqual(['sip:bob@example.com']);
    });

    it('an empty binding list keeps the record (a known AOR) until expire passes expiresAt', async () => {
      const store = await make();
      await store.save('sip:alice@example.com', [], { expectedVersion: 0, expiresAt: T + 5000 });
      expect((await store.lookup('sip:alice@example.com'))?.bindings).toEqual([]);
      expect(await store.expire(T + 4999)).toBe(0);
      expect(await store.lookup('sip:alice@example.com')).toBeDefined();
      await store.expire(T + 5000);
      expect(await store.lookup('sip:alice@example.com')).toBeUndefined();
    });

    it('remove(aor, contact) removes that exact binding, bumps the version, and counts', async () => {
      const store = await make();
      const saved = await store.save('sip:alice@example.com', [binding('sip:a@h', T + 1000), binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      expect(await store.remove('sip:alice@example.com', 'sip:A@h')).toBe(0);
      expect(await store.remove('sip:alice@example.com', 'sip:a@h')).toBe(1);
      expect(await store.remove('sip:nobody@example.com', 'sip:a@h')).toBe(0);
      const record = await store.lookup('sip:alice@example.com');
      expect(record?.bindings.map((x) => x.contact)).toEqual(['sip:b@h']);
      // A registrar that read before the removal must not write the removed binding back.
      expect((await store.save('sip:alice@example.com', [], { expectedVersion: saved.version, expiresAt: T })).ok).toBe(false);
    });

    it('remove(aor) drops the record and counts its bindings', async () => {
      const store = await make();
      await store.save('sip:alice@example.com', [binding('sip:a@h', T + 1000), binding('sip:b@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      expect(await store.remove('sip:alice@example.com')).toBe(2);
      expect(await store.lookup('sip:alice@example.com')).toBeUndefined();
      expect(await store.remove('sip:alice@example.com')).toBe(0);
    });

    it('expire(now) drops lapsed bindings (expires <= now) and keeps live ones', async () => {
      const store = await make();
      await store.save('sip:alice@example.com', [binding('sip:a@h', T + 1000), binding('sip:b@h', T + 3000)], { expectedVersion: 0, expiresAt: T + 10_000 });
      await store.save('sip:bob@example.com', [binding('sip:c@h', T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      expect(await store.expire(T + 999)).toBe(0);
      expect(await store.expire(T + 1000)).toBe(2);
      expect((await store.lookup('sip:alice@example.com'))?.bindings.map((x) => x.contact)).toEqual(['sip:b@h']);
      expect(await store.lookup('sip:bob@example.com')).toBeUndefined();
      expect(await store.expire(T + 3000)).toBe(1);
      // alice is still known (expiresAt later), without bindings.
      expect((await store.lookup('sip:alice@example.com'))?.bindings).toEqual([]);
    });

    it('list gives every record', async () => {
      const store = await make();
      for (const user of ['a', 'b', 'c']) await store.save(`sip:${user}@example.com`, [binding(`sip:${user}@h`, T + 1000)], { expectedVersion: 0, expiresAt: T + 1000 });
      const aors = (await store.list()).map((r) => r.aor).sort();
      expect(aors).toEqual(['sip:a@example.com', 'sip:b@example.com', 'sip:c@example.com']);
    });

    it('after close every call rejects; close is idempotent', async () => {
      const store = await make();
      await store.close();
      await store.close();
      await expect(store.lookup('sip:a@example.com')).rejects.toThrow();
      await expect(store.save('sip:a@example.com', [], { expectedVersion: 0, expiresAt: T })).rejects.toThrow();
      await expect(store.list()).rejects.toThrow();
      await expect(store.expire(T)).rejects.toThrow();
      await expect(store.remove('sip:a@example.com')).rejects.toThrow();
    });
  });
}
