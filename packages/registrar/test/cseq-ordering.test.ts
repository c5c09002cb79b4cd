import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contactsOf, registerText, setup } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(() => s.close());

describe('Call-ID and CSeq ordering (RFC 3261 §10.3 step 7)', () => {
  it('same Call-ID with a lower CSeq is refused with 500 and changes nothing', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'c', cseq: 5 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 0, callId: 'c', cseq: 4 });
    expect(res.status).toBe(500);
    expect(res.reason).toBe('Out Of Order CSeq');
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });

  it('aborts the whole request: other contacts in it are not applied either', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'c', cseq: 5 });
    const res = await s.register({ contacts: ['<sip:b@10.0.0.3>', '<sip:a@10.0.0.2>'], expires: 100, callId: 'c', cseq: 3 });
    expect(res.status).toBe(500);
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact)).toEqual(['sip:a@10.0.0.2']);
  });

  it('same Call-ID with a higher CSeq updates', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'c', cseq: 5 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 200, callId: 'c', cseq: 6 });
    expect(contactsOf(res)[0]?.expires).toBe(200);
  });

  it('a different Call-ID updates whatever its CSeq (a rebooted phone starts again at 1)', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'before-reboot', cseq: 900 });
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 250, callId: 'after-reboot', cseq: 1 });
    expect(res.status).toBe(200);
    const [b] = await s.registrar.lookup('sip:alice@example.com');
    expect(b).toMatchObject({ callId: 'after-reboot', cseq: 1 });
    expect(contactsOf(res)[0]?.expires).toBe(250);
  });

  it('a different Call-ID may remove a binding whatever its CSeq', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'x', cseq: 50 });
    expect((await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 0, callId: 'y', cseq: 1 })).status).toBe(200);
    expect(await s.registrar.lookup('sip:alice@example.com')).toEqual([]);
  });

  it('a retransmission (same bytes) is answered 200 again with the same To tag and no change', async () => {
    const text = registerText({ contacts: ['<sip:a@10.0.0.2>'], expires: 100 }, '10.0.0.2:5060', { callId: 'r', cseq: 7 });
    const first = await s.send(text);
    s.advance(5);
    const second = await s.send(text);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.to?.tag).toBe(first.to?.tag);
    const [b] = await s.registrar.lookup('sip:alice@example.com');
    // Not refreshed by the retransmission: still the first expiry.
    expect(b?.updated).toBe(s.now() - 5000);
    expect(contactsOf(second)[0]?.expires).toBe(95);
  });

  it('bindings of other Call-IDs are not affected by a stale request for another contact', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'one', cseq: 9 });
    // cseq 1 of another Call-ID adding another contact: fine.
    const res = await s.register({ contacts: ['<sip:b@10.0.0.3>'], expires: 100, callId: 'two', cseq: 1 });
    expect(res.status).toBe(200);
    expect(await s.registrar.lookup('sip:alice@example.com')).toHaveLength(2);
  });
});
