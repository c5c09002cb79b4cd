import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareBindings } from '../src/index.js';
import type { Binding } from '../src/index.js';
import { contactsOf, setup } from './helpers.js';
import type { Setup } from './helpers.js';

let s: Setup;
beforeEach(async () => {
  s = await setup();
});
afterEach(() => s.close());

describe('q-values and ordering (RFC 3261 §10.2.1.2, §20.10)', () => {
  it('lookup gives the highest q first, then the newest; absent q counts as 1.0', async () => {
    await s.register({ contacts: ['<sip:low@10.0.0.2>;q=0.1'], expires: 100, callId: 'a' });
    s.advance(1);
    await s.register({ contacts: ['<sip:none-old@10.0.0.3>'], expires: 100, callId: 'b' });
    s.advance(1);
    await s.register({ contacts: ['<sip:high@10.0.0.4>;q=0.9'], expires: 100, callId: 'c' });
    s.advance(1);
    await s.register({ contacts: ['<sip:none-new@10.0.0.5>'], expires: 100, callId: 'd' });
    s.advance(1);
    await s.register({ contacts: ['<sip:one@10.0.0.6>;q=1.0'], expires: 100, callId: 'e' });
    const order = (await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact);
    expect(order).toEqual(['sip:one@10.0.0.6', 'sip:none-new@10.0.0.5', 'sip:none-old@10.0.0.3', 'sip:high@10.0.0.4', 'sip:low@10.0.0.2']);
  });

  it('keeps the q-value and lists it in the 200, best first', async () => {
    const res = await s.register({ contacts: ['<sip:a@10.0.0.2>;q=0.5', '<sip:b@10.0.0.3>;q=0.8'], expires: 100 });
    expect(contactsOf(res).map((c) => [c.uri, c.q])).toEqual([
      ['sip:b@10.0.0.3', 0.8],
      ['sip:a@10.0.0.2', 0.5],
    ]);
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => b.q)).toEqual([0.8, 0.5]);
  });

  it('a refresh can change the q-value, and a refresh makes a binding the newest', async () => {
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'a' });
    s.advance(1);
    await s.register({ contacts: ['<sip:b@10.0.0.3>'], expires: 100, callId: 'b' });
    s.advance(1);
    await s.register({ contacts: ['<sip:a@10.0.0.2>'], expires: 100, callId: 'a', cseq: 100 });
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => b.contact)).toEqual(['sip:a@10.0.0.2', 'sip:b@10.0.0.3']);
    await s.register({ contacts: ['<sip:a@10.0.0.2>;q=0.2'], expires: 100, callId: 'a', cseq: 101 });
    expect((await s.registrar.lookup('sip:alice@example.com')).map((b) => [b.contact, b.q])).toEqual([
      ['sip:b@10.0.0.3', undefined],
      ['sip:a@10.0.0.2', 0.2],
    ]);
  });

  it('compareBindings is a total order usable by a proxy', () => {
    const b = (q: number | undefined, updated: number): Binding => ({ contact: `sip:${q}-${updated}@h`, expires: 1e13, callId: 'x', cseq: 1, updated, ...(q === undefined ? {} : { q }) });
    const sorted = [b(0, 5), b(undefined, 1), b(1, 2), b(0.5, 9)].sort(compareBindings).map((x) => x.contact);
    expect(sorted).toEqual(['sip:1-2@h', 'sip:undefined-1@h', 'sip:0.5-9@h', 'sip:0-5@h']);
  });
});
