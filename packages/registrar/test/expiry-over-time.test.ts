import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { MemoryLocationStore } from '../src/index.js';
import { setup } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('bindings expire by time (injected clock)', () => {
  it('a binding is found until its expiry and not after, even before any sweep', async () => {
    s = await setup();
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    s.advance(59.999);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
    s.advance(0.001);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('expire() drops lapsed bindings from the store and keeps live ones', async () => {
    const store = new MemoryLocationStore();
    s = await setup({ store });
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 30, callId: 'a' });
    await s.register({ contacts: ['<sip:b@10.0.0.3>'], expires: 200, callId: 'b' });
    s.advance(31);
    expect(await s.registrar.expire()).toBe(1);
    const record = await store.lookup('sip:alice@example.com');
    expect(record?.bindings.map((b) => b.contact)).toEqual(['sip:b@10.0.0.3']);
    await store.close();
  });

  it('a REGISTER drops the lapsed bindings of its AOR from the store (reads stay bounded)', async () => {
    const store = new MemoryLocationStore();
    s = await setup({ store });
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 30, callId: 'a' });
    s.advance(100);
    await s.register({ contacts: ['<sip:b@10.0.0.3>'], expires: 60, callId: 'b' });
    expect((await store.lookup('sip:alice@example.com'))?.bindings.map((b) => b.contact)).toEqual(['sip:b@10.0.0.3']);
    await store.close();
  });

  it('the sweep timer expires bindings without any call (sweepInterval)', async () => {
    const store = new MemoryLocationStore();
    s = await setup({ store, sweepInterval: 10 });
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 30 });
    s.advance(31 + 3600);
    await until(() => store.size === 0, 3000);
    expect(await store.list()).toEqual([]);
    await store.close();
  });

  it('knows(): known while bound and for rememberFor after, then forgotten', async () => {
    s = await setup({ rememberFor: 600 });
    expect(await s.registrar.knows('sip:alice@example.com')).toBe(false);
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    expect(await s.registrar.knows('sip:alice@example.com:5060;transport=udp')).toBe(true);
    s.advance(61);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
    expect(await s.registrar.knows('sip:alice@example.com')).toBe(true);
    s.advance(600);
    expect(await s.registrar.knows('sip:alice@example.com')).toBe(false);
    await s.registrar.expire();
    expect(await s.registrar.list()).toEqual([]);
  });

  it('knows() after de-registration, and rememberFor 0 forgets at once', async () => {
    s = await setup();
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    await s.register({ contacts: ['*'], expires: 0 });
    expect(await s.registrar.knows('sip:alice@example.com')).toBe(true);
    const t = await setup({ rememberFor: 0 });
    try {
      await t.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
      await t.register({ contacts: ['*'], expires: 0 });
      expect(await t.registrar.knows('sip:alice@example.com')).toBe(false);
      await t.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
      t.advance(60);
      expect(await t.registrar.knows('sip:alice@example.com')).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('list() gives live bindings of known AORs only', async () => {
    s = await setup({ rememberFor: 0 });
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 30, callId: 'a' });
    await s.register({ to: 'sip:bob@example.com', contacts: ['<sip:b@10.0.0.3>'], expires: 100, callId: 'b' });
    s.advance(40);
    const listed = await s.registrar.list();
    expect(listed.map((r) => [r.aor, r.bindings.map((b) => b.contact)])).toEqual([['sip:bob@example.com', ['sip:b@10.0.0.3']]]);
  });
});
