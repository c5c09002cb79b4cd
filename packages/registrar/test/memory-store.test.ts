import { describe, expect, it } from 'vitest';
import { MemoryLocationStore, RegistrarClosedError } from '../src/index.js';
import { binding, describeLocationStore } from './store-contract.js';

describeLocationStore('MemoryLocationStore', () => new MemoryLocationStore());

describe('MemoryLocationStore specifics', () => {
  it('counts its AORs and frees them on expire', async () => {
    const store = new MemoryLocationStore();
    await store.save('sip:a@example.com', [binding('sip:a@h', 1000)], { expectedVersion: 0, expiresAt: 1000 });
    await store.save('sip:b@example.com', [], { expectedVersion: 0, expiresAt: 2000 });
    expect(store.size).toBe(2);
    await store.expire(1500);
    expect(store.size).toBe(1);
    await store.close();
  });

  it('rejects with a RegistrarClosedError (code STORE_CLOSED) after close', async () => {
    const store = new MemoryLocationStore();
    await store.close();
    const error = await store.lookup('sip:a@example.com').catch((e: unknown) => e);
    expect(RegistrarClosedError.isInstance(error)).toBe(true);
    expect((error as RegistrarClosedError).code).toBe('STORE_CLOSED');
  });
});
