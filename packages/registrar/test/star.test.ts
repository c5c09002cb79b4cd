import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setup } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(() => s.close());

describe('Contact: * (RFC 3261 §10.2.2, §10.3 step 6)', () => {
  it('with Expires: 0 removes every binding of the AOR, from any Call-ID', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100, callId: 'one' });
    await s.register({ contacts: ['<sip:b@10.0.0.3:2>'], expires: 100, callId: 'two' });
    await s.register({ to: 'sip:bob@example.com', contacts: ['<sip:bob@10.0.0.4>'], expires: 100, callId: 'bob' });
    const res = await s.register({ contacts: ['*'], expires: 0, callId: 'three' });
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
    // Another AOR is untouched.
    expect(await s.registrar.lookup('sip:bob@example.com')).toHaveLength(1);
  });

  it('with another expiry is 400 and changes nothing', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100 });
    const res = await s.register({ contacts: ['*'], expires: 60 });
    expect(res.status).toBe(400);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });

  it('without an Expires header is 400 (the default expiry is not zero)', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100 });
    const res = await s.register({ contacts: ['*'] });
    expect(res.status).toBe(400);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });

  it('with other Contact values (same or separate lines) is 400', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100 });
    expect((await s.register({ contacts: ['*', '<sip:b@10.0.0.2:2>'], expires: 0 })).status).toBe(400);
    expect((await s.register({ contacts: ['<sip:b@10.0.0.2:2>, *'], expires: 0 })).status).toBe(400);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });

  it('respects CSeq ordering: a stale * (same Call-ID, lower CSeq) is refused and removes nothing', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100, callId: 'c', cseq: 10 });
    const res = await s.register({ contacts: ['*'], expires: 0, callId: 'c', cseq: 9 });
    expect(res.status).toBe(500);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
    const ok = await s.register({ contacts: ['*'], expires: 0, callId: 'c', cseq: 11 });
    expect(ok.status).toBe(200);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('on an AOR without bindings is 200 with no Contact', async () => {
    const res = await s.register({ to: 'sip:nobody@example.com', contacts: ['*'], expires: 0 });
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
  });
});
