import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contactsOf, setup } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(() => s.close());

describe('REGISTER without Contact lists the bindings (RFC 3261 §10.2.3)', () => {
  it('lists every current binding with its remaining expiry and changes nothing', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>;q=0.7', '<sip:b@10.0.0.3>'], expires: 100 });
    s.advance(30);
    const before = await s.registrar.lookup('sip:alice@example.com');
    const res = await s.register({});
    expect(res.status).toBe(200);
    expect(contactsOf(res).map((c) => c.raw)).toEqual(['<sip:b@10.0.0.3>;expires=70', '<sip:a@10.0.0.2>;expires=70;q=0.7']);
    expect(res.hasHeader('date')).toBe(true);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual(before);
  });

  it('a query with an Expires header still only lists (Net::SIP wipes the AOR here)', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100 });
    const res = await s.register({ expires: 0 });
    expect(res.status).toBe(200);
    expect(res.contacts).toHaveLength(1);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });

  it('for an AOR without bindings: 200 with no Contact', async () => {
    const res = await s.register({ to: 'sip:nobody@example.com' });
    expect(res.status).toBe(200);
    expect(res.contacts).toEqual([]);
  });

  it('does not list bindings that have lapsed', async () => {
    await s.register({ contacts: ['<sip:short@10.0.0.2>'], expires: 30, callId: 'a' });
    await s.register({ contacts: ['<sip:long@10.0.0.3>'], expires: 300, callId: 'b' });
    s.advance(31);
    const res = await s.register({});
    expect(contactsOf(res).map((c) => c.uri)).toEqual(['sip:long@10.0.0.3']);
  });

  it('lists only the AOR of the To header', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100 });
    await s.register({ to: 'sip:bob@example.com', contacts: ['<sip:bob@10.0.0.9>'], expires: 100 });
    const res = await s.register({ to: 'sip:bob@example.com' });
    expect(contactsOf(res).map((c) => c.uri)).toEqual(['sip:bob@10.0.0.9']);
  });
});
