import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { SipError } from '@sipway/sip-message';
import { Dispatcher } from '@sipway/sip-leg';
import { LocationStoreError, MemoryLocationStore, Registrar, RegistrarClosedError, RegistrarOptionsError, registerChannel } from '../src/index.js';
import type { Binding, LocationStore, SaveOptions, SaveResult } from '../src/index.js';
import { registerText, setup } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** A store whose every call fails, as a Redis store does while the server is down. */
class DownStore implements LocationStore {
  lookup(): Promise<never> {
    return Promise.reject(new LocationStoreError('connection refused'));
  }
  save(): Promise<never> {
    return Promise.reject(new LocationStoreError('connection refused'));
  }
  remove(): Promise<never> {
    return Promise.reject(new LocationStoreError('connection refused'));
  }
  expire(): Promise<never> {
    return Promise.reject(new LocationStoreError('connection refused'));
  }
  list(): Promise<never> {
    return Promise.reject(new LocationStoreError('connection refused'));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A store that lets another writer slip in between read and write `conflicts` times. */
class RacyStore extends MemoryLocationStore {
  conflicts: number;
  saves = 0;
  constructor(conflicts: number) {
    super();
    this.conflicts = conflicts;
  }
  override async save(aor: string, bindings: readonly Binding[], options: SaveOptions): Promise<SaveResult> {
    this.saves++;
    if (this.conflicts > 0) {
      this.conflicts--;
      const current = await this.lookup(aor);
      const other: Binding = { contact: `sip:other${this.conflicts}@10.9.9.9`, expires: options.expiresAt, callId: `other${this.conflicts}`, cseq: 1, updated: 0 };
      await super.save(aor, [...(current?.bindings ?? []), other], { expectedVersion: current?.version ?? 0, expiresAt: options.expiresAt });
    }
    return super.save(aor, bindings, options);
  }
}

describe('store failures and concurrency', () => {
  it('a failing store gets the REGISTER a 503 with Retry-After, and lookups reject', async () => {
    s = await setup({ store: new DownStore(), retryAfter: 7 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    expect(res.status).toBe(503);
    expect(res.getHeader('retry-after')).toBe('7');
    await expect(s.registrar.lookup('sip:alice@example.com')).rejects.toSatisfy((e: unknown) => LocationStoreError.isInstance(e));
    // A query fails the same way.
    expect((await s.register({})).status).toBe(503);
  });

  it('a concurrent writer between read and write: the registrar reads again and merges with it', async () => {
    const store = new RacyStore(2);
    s = await setup({ store });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    expect(res.status).toBe(200);
    expect(store.saves).toBe(3);
    const contacts = (await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact).sort();
    expect(contacts).toEqual(['sip:a@10.0.0.2', 'sip:other0@10.9.9.9', 'sip:other1@10.9.9.9']);
    await store.close();
  });

  it('endless conflicts end in 503 after a bounded number of attempts', async () => {
    const store = new RacyStore(1000);
    s = await setup({ store });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    expect(res.status).toBe(503);
    expect(store.saves).toBe(8);
    await store.close();
  });

  it('many REGISTERs for one AOR at once: none is lost', async () => {
    s = await setup({ maxBindings: 32 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s!.register({ contacts: [`<sip:d${i}@10.0.0.2>`], expires: 60, callId: `c${i}` })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(20);
  });
});

describe('malformed and unsupported REGISTERs', () => {
  it('Require with an unknown extension is 420 with Unsupported (RFC 3261 §8.2.2.3)', async () => {
    s = await setup();
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], headers: [['Require', 'foo, path']] });
    expect(res.status).toBe(420);
    expect(res.getHeaders('unsupported')).toEqual(['foo', 'path']);
    const t = await setup({ supported: ['path'] });
    try {
      expect((await t.register({ contacts: ['<sip:a@10.0.0.2>'], headers: [['Require', 'path']] })).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('missing Call-ID or a CSeq method other than REGISTER is 400', async () => {
    s = await setup();
    const text = registerText({ contacts: ['<sip:a@10.0.0.2>'] }, '10.0.0.2:5060', { callId: 'x', cseq: 1 });
    expect((await s.send(text.replace('CSeq: 1 REGISTER', 'CSeq: 1 INVITE'))).status).toBe(400);
    expect((await s.send(text.replace('Call-ID: x\r\n', '').replace('z9hG4bK-test-', 'z9hG4bK-nocid-'))).status).toBe(400);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('a malformed Contact is 400', async () => {
    s = await setup();
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2'] })).status).toBe(400);
  });

  it('more bindings than maxBindings: 403, but refreshing existing ones still works', async () => {
    s = await setup({ maxBindings: 2 });
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>', '<sip:b@10.0.0.2>'], expires: 60 })).status).toBe(200);
    const res = await s.register({ contacts: ['<sip:c@10.0.0.2>'], expires: 60 });
    expect(res.status).toBe(403);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(2);
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 90 })).status).toBe(200);
  });

  it('non-SIP contacts (mailto:, tel:) are stored and listed as any URI (RFC 3261 §10.2.1)', async () => {
    s = await setup();
    const res = await s.register({ contacts: ['<mailto:alice@example.com>', '<tel:+15551234>'], expires: 60 });
    expect(res.contacts.map((c) => c.uri).sort()).toEqual(['mailto:alice@example.com', 'tel:+15551234']);
  });
});

describe('lifecycle, options and diagnostics', () => {
  const dispatcher = new Dispatcher();

  it('checks options once, at construction', () => {
    const bad: Array<Record<string, unknown>> = [
      {},
      { domains: [] },
      { domains: ['*'], minExpires: 0 },
      { domains: ['*'], minExpires: 400 },
      { domains: ['*'], maxExpires: 1.5 },
      { domains: ['*'], defaultExpires: 10 },
      { domains: ['*'], defaultExpires: 301 },
      { domains: ['*'], maxBindings: 0 },
      { domains: ['*'], rememberFor: -1 },
    ];
    for (const o of bad) expect(() => new Registrar({ dispatcher, ...o } as never), JSON.stringify(o)).toThrow(RegistrarOptionsError);
    expect(() => new Registrar({ domains: ['*'] } as never)).toThrow(RegistrarOptionsError);
    const error = (() => {
      try {
        return new Registrar({ dispatcher, domains: ['*'], minExpires: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(RegistrarOptionsError.isInstance(error) && error.code).toBe('REGISTRAR_INVALID_OPTIONS');
    // sip-message's SipError recognises the errors of every sipway package.
    expect(SipError.isInstance(error)).toBe(true);
  });

  it('after close: lookups throw, REGISTERs are not taken, the owned store is closed', async () => {
    const registrar = new Registrar({ dispatcher, domains: ['*'] });
    await registrar.close();
    await registrar.close();
    await expect(registrar.lookup('sip:a@example.com')).rejects.toSatisfy((e: unknown) => RegistrarClosedError.isInstance(e));
    await expect(registrar.store.lookup('sip:a@example.com')).rejects.toThrow();
  });

  it('a store given by the caller stays open after close', async () => {
    const store = new MemoryLocationStore();
    const registrar = new Registrar({ dispatcher, domains: ['*'], store });
    await registrar.close();
    expect(await store.lookup('sip:a@example.com')).toBeUndefined();
    await store.close();
  });

  it('publishes every answered REGISTER on sipway:registrar:register', async () => {
    s = await setup();
    const seen: unknown[] = [];
    const listener = (m: unknown): void => void seen.push(m);
    subscribe(registerChannel.name, listener);
    try {
      await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
      await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 5 });
    } finally {
      unsubscribe(registerChannel.name, listener);
    }
    expect(seen).toEqual([
      { aor: 'sip:alice@example.com', status: 200, bindings: 1, source: expect.objectContaining({ address: '10.0.0.2', port: 5060 }) },
      { aor: undefined, status: 423, bindings: 0, source: expect.objectContaining({ address: '10.0.0.2' }) },
    ]);
  });
});
