import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contactsOf, setup, T0 } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(() => s.close());

describe('expiry rules (RFC 3261 §10.3 step 7, §20.19, §21.4.17)', () => {
  it('without any expiry the default applies: maxExpires, 300 s (Net::SIP)', async () => {
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'] });
    expect(contactsOf(res)[0]?.expires).toBe(300);
  });

  it('an explicit defaultExpires is used when neither contact nor request says', async () => {
    const t = await setup({ defaultExpires: 120, maxExpires: 3600 });
    try {
      expect(contactsOf(await t.register({ contacts: ['<sip:a@10.0.0.2>'] }))[0]?.expires).toBe(120);
    } finally {
      await t.close();
    }
  });

  it('the Expires header applies to contacts without their own expires parameter', async () => {
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2:1>', '<sip:b@10.0.0.2:2>;expires=45'], expires: 90 });
    const byUri = Object.fromEntries(contactsOf(res).map((c) => [c.uri, c.expires]));
    expect(byUri).toEqual({ 'sip:a@10.0.0.2:1': 90, 'sip:b@10.0.0.2:2': 45 });
  });

  it('the contact parameter wins over the header in both directions', async () => {
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2:1>;expires=200'], expires: 40 });
    expect(contactsOf(res)[0]?.expires).toBe(200);
  });

  it('above maxExpires is shortened to maxExpires', async () => {
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 7200 });
    expect(contactsOf(res)[0]?.expires).toBe(300);
    expect((await s.registrar.lookup('sip:alice@example.com'))[0]?.expires).toBe(T0 + 300_000);
  });

  it('huge values beyond 2^32-1 are clamped, not rejected', async () => {
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: '99999999999999' });
    expect(res.status).toBe(200);
    expect(contactsOf(res)[0]?.expires).toBe(300);
  });

  it('below minExpires (not 0) is 423 with Min-Expires, and nothing changes', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2:1>'], expires: 100 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2:1>;expires=0', '<sip:b@10.0.0.2:2>;expires=10'] });
    expect(res.status).toBe(423);
    expect(res.reason).toBe('Interval Too Brief');
    expect(res.getHeader('min-expires')).toBe('30');
    expect(res.to?.tag).toBeDefined();
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact)).toEqual(['sip:a@10.0.0.2:1']);
  });

  it('423 from the Expires header too, and exactly minExpires is accepted', async () => {
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 29 })).status).toBe(423);
    const ok = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 30 });
    expect(ok.status).toBe(200);
    expect(contactsOf(ok)[0]?.expires).toBe(30);
  });

  it('configured minExpires is what Min-Expires says', async () => {
    const t = await setup({ minExpires: 60, maxExpires: 3600 });
    try {
      const res = await t.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 59 });
      expect(res.status).toBe(423);
      expect(res.getHeader('Min-Expires')).toBe('60');
    } finally {
      await t.close();
    }
  });

  it('a malformed Expires header or expires parameter is 400', async () => {
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 'soon' })).status).toBe(400);
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>;expires=-1'] })).status).toBe(400);
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>;q=2'] })).status).toBe(400);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('the remaining time counts down in later responses', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100 });
    s.advance(40.5);
    const res = await s.register({});
    expect(contactsOf(res)[0]?.expires).toBe(60);
  });
});
