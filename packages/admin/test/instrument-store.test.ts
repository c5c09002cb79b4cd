import { describe, expect, it } from 'vitest';
import { LocationStoreError, MemoryLocationStore, Registrar } from '@sipway/registrar';
import type { Binding, LocationStore } from '@sipway/registrar';
import { createMetrics, instrumentStore } from '../src/index.js';
import { requestText, sample, sipSetup } from './helpers.js';

const binding = (contact: string): Binding => ({ contact, expires: Date.now() + 60_000, callId: 'c', cseq: 1, updated: Date.now() });

/** A store whose every call fails, like a Redis store without its server. */
class DownStore implements LocationStore {
  lookup = () => Promise.reject(new LocationStoreError('connection lost'));
  save = () => Promise.reject(new LocationStoreError('connection lost'));
  remove = () => Promise.reject(new LocationStoreError('connection lost'));
  expire = () => Promise.reject(new LocationStoreError('connection lost'));
  list = () => Promise.reject(new LocationStoreError('connection lost'));
  close = () => Promise.resolve();
}

describe('instrumentStore', () => {
  it('passes every call through unchanged and times each one by operation and outcome', async () => {
    const metrics = createMetrics();
    try {
      const inner = new MemoryLocationStore();
      const store = instrumentStore(inner, metrics);
      expect(store.inner).toBe(inner);
      expect(await store.lookup('sip:alice@example.com')).toBeUndefined();
      expect(await store.save('sip:alice@example.com', [binding('sip:a@10.0.0.2')], { expectedVersion: 0, expiresAt: Date.now() + 60_000 })).toEqual({ ok: true, version: 1 });
      // A stale version is a conflict, a value and not an error.
      const conflict = await store.save('sip:alice@example.com', [], { expectedVersion: 0, expiresAt: Date.now() + 60_000 });
      expect(conflict.ok).toBe(false);
      expect((await store.lookup('sip:alice@example.com'))?.bindings.map((b) => b.contact)).toEqual(['sip:a@10.0.0.2']);
      expect((await store.list()).length).toBe(1);
      expect(await store.remove('sip:alice@example.com', 'sip:a@10.0.0.2')).toBe(1);
      expect(await store.expire(Date.now() + 3_600_000)).toBe(0);
      const text = await metrics.text();
      const count = (operation: string, outcome: string) => sample(text, 'sipway_location_store_duration_seconds_count', { operation, outcome });
      expect(count('lookup', 'ok')).toBe(2);
      expect(count('save', 'ok')).toBe(1);
      expect(count('save', 'conflict')).toBe(1);
      expect(count('list', 'ok')).toBe(1);
      expect(count('remove', 'ok')).toBe(1);
      expect(count('expire', 'ok')).toBe(1);
      expect(sample(text, 'sipway_location_store_duration_seconds_sum', { operation: 'lookup', outcome: 'ok' })).toBeGreaterThan(0);
      // Every observation falls in the +Inf bucket.
      expect(sample(text, 'sipway_location_store_duration_seconds_bucket', { operation: 'lookup', outcome: 'ok', le: '+Inf' })).toBe(2);
      await store.close();
      await expect(store.lookup('sip:alice@example.com')).rejects.toThrow();
    } finally {
      metrics.dispose();
    }
  });

  it('counts failures as outcome="error" and rethrows them, so the registrar still answers 503', async () => {
    const metrics = createMetrics();
    const sip = await sipSetup({ store: instrumentStore(new DownStore(), metrics) });
    try {
      const response = await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
      expect(response.status).toBe(503);
      expect(response.getHeader('retry-after')).toBeDefined();
      const text = await metrics.text();
      expect(sample(text, 'sipway_location_store_duration_seconds_count', { operation: 'lookup', outcome: 'error' })).toBe(1);
      expect(sample(text, 'sipway_registrar_registers_total', { status: '503', class: '5xx' })).toBe(1);
    } finally {
      metrics.dispose();
      await sip.close();
    }
  });

  it('is what the registrar uses when given as its store', async () => {
    const metrics = createMetrics();
    const registrarStore = instrumentStore(new MemoryLocationStore(), metrics);
    const sip = await sipSetup({ store: registrarStore });
    try {
      expect(sip.registrar).toBeInstanceOf(Registrar);
      expect((await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }))).status).toBe(200);
      const text = await metrics.text();
      expect(sample(text, 'sipway_location_store_duration_seconds_count', { operation: 'lookup', outcome: 'ok' })).toBe(1);
      expect(sample(text, 'sipway_location_store_duration_seconds_count', { operation: 'save', outcome: 'ok' })).toBe(1);
    } finally {
      metrics.dispose();
      await sip.close();
    }
  });
});
