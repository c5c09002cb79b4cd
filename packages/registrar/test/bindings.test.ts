import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contactsOf, setup, T0 } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(() => s.close());

describe('add, refresh and remove bindings (RFC 3261 §10.3 steps 7–8)', () => {
  it('adds a binding and answers 200 with the binding, its expiry, a To tag and a Date', async () => {
    const res = await s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120 });
    expect(res.status).toBe(200);
    expect(res.reason).toBe('OK');
    expect(contactsOf(res)).toEqual([{ uri: 'sip:alice@10.0.0.2:5060', expires: 120, q: undefined, raw: '<sip:alice@10.0.0.2:5060>;expires=120' }]);
    expect(res.to?.tag).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(res.getHeader('date')).toBe('Thu, 26 Nov 2026 10:00:00 GMT');
    expect(res.callId).toBe('call-1@10.0.0.2');
    expect(res.cseq).toEqual({ seq: 1, method: 'REGISTER' });
    // Sent back to the Via of the request (RFC 3261 §18.2.2): the client leg got it.
    expect(s.responses).toHaveLength(1);
    const bindings = await s.registrar.lookup('sip:alice@example.com');
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({ contact: 'sip:alice@10.0.0.2:5060', expires: T0 + 120_000, callId: 'call-1@10.0.0.2', cseq: 1, updated: T0 });
    // `local`: the leg it came in on, so a proxy with several legs sends from the same one.
    expect(bindings[0]?.source).toEqual({ transport: 'udp', address: '10.0.0.2', port: 5060, local: 'udp:10.0.0.1:5060' });
  });

  it('merges: a second contact from another device is added, the first kept (Net::SIP replaces)', async () => {
    await s.register({ contacts: ['<sip:alice@10.0.0.2:5060>'], expires: 120, callId: 'desk' });
    s.advance(10);
    const res = await s.register({ contacts: ['<sip:alice@10.0.0.3:5060>'], expires: 200, callId: 'mobile' });
    expect(res.status).toBe(200);
    const listed = contactsOf(res).map((c) => [c.uri, c.expires]);
    expect(listed).toHaveLength(2);
    expect(listed).toContainEqual(['sip:alice@10.0.0.2:5060', 110]);
    expect(listed).toContainEqual(['sip:alice@10.0.0.3:5060', 200]);
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact)).toEqual(['sip:alice@10.0.0.3:5060', 'sip:alice@10.0.0.2:5060']);
  });

  it('refreshes an existing binding (URI comparison of §19.1.4, not string equality)', async () => {
    await s.register({ contacts: ['<sip:alice@10.0.0.2:5060;transport=udp>'], expires: 60 });
    s.advance(50);
    // Same URI: host case and parameter order do not matter.
    const res = await s.register({ contacts: ['<sip:alice@10.0.0.2:5060;TRANSPORT=UDP>'], expires: 100 });
    expect(contactsOf(res).map((c) => c.expires)).toEqual([100]);
    const [b] = await s.registrar.lookup('sip:alice@example.com');
    expect(b?.expires).toBe(T0 + 150_000);
    expect(b?.updated).toBe(T0 + 50_000);
    expect(b?.cseq).toBe(2);
  });

  it('removes one binding with expires=0 and keeps the others', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>', '<sip:b@10.0.0.2:2>'], expires: 100 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2:1>;expires=0'] });
    expect(res.status).toBe(200);
    expect(contactsOf(res).map((c) => c.uri)).toEqual(['sip:b@10.0.0.2:2']);
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact)).toEqual(['sip:b@10.0.0.2:2']);
  });

  it('removes with the Expires: 0 header; the 200 then lists no Contact', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 0 });
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
    expect(res.getHeader('date')).toBeDefined();
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('removing a binding nobody registered is a 200 and does not make the AOR known', async () => {
    const res = await s.register({ to: 'sip:ghost@example.com', contacts: ['<sip:g@10.0.0.9>;expires=0'] });
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
    expect(await s.registrar.knows('sip:ghost@example.com')).toBe(false);
  });

  it('Net::SIP golden case, with the RFC fixes: merge and per-contact expires clamped to max', async () => {
    // Reference §5.2: three contacts, one with expires=0, one above max, Expires: 100, max 3600.
    const t = await setup({ maxExpires: 3600 });
    try {
      const res = await t.register({
        contacts: ['<sip:a1@127.0.0.4:1>, <sip:a2@127.0.0.4:2>;expires=0, <sip:a3@127.0.0.4:3>;expires=5000'],
        expires: 100,
      });
      expect(res.status).toBe(200);
      const listed = contactsOf(res).map((c) => c.raw);
      expect(listed.sort()).toEqual(['<sip:a1@127.0.0.4:1>;expires=100', '<sip:a3@127.0.0.4:3>;expires=3600']);
      expect(res.to?.tag).toBeDefined();
      expect(res.hasHeader('date')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('keeps extra Contact parameters (+sip.instance, reg-id) and echoes them in the 200', async () => {
    const res = await s.register({ contacts: ['<sip:alice@10.0.0.2:5060;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'], expires: 60 });
    expect(res.contacts[0]?.params).toMatchObject({ expires: '60', 'reg-id': '1', '+sip.instance': '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"' });
    expect(res.contacts[0]?.uri).toBe('sip:alice@10.0.0.2:5060;ob');
  });

  it('the same To tag for a retransmission, different tags for different requests', async () => {
    const a = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    const b = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 60 });
    expect(a.to?.tag).not.toBe(b.to?.tag);
  });
});
