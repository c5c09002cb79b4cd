import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContactRewriter, contactTokenLength, type RewriterLeg } from '../src/index.js';

const legs: RewriterLeg[] = [
  { key: 'Net::SIP::Leg udp:192.0.2.10:5060', contact: 'sip:192.0.2.10' },
  { key: 'Net::SIP::Leg tcp:198.51.100.20:5060', contact: 'sip:198.51.100.20' },
];
const KEY = 'hex:' + '3c'.repeat(32);

describe('token length', () => {
  it('measures SIV tokens against Net::SIP tokens over 3000 contacts', () => {
    const netsip = new ContactRewriter({ legs, key: KEY, codec: 'rc4-md5' });
    const siv = new ContactRewriter({ legs, key: KEY });
    const siv96 = new ContactRewriter({ legs, key: KEY, tagBits: 96 });
    const siv128 = new ContactRewriter({ legs, key: KEY, tagBits: 128 });
    const untimed = new ContactRewriter({ legs, key: KEY, tokenLifetime: 0 });
    const contacts = fc.sample(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.tuple(fc.emailAddress(), fc.integer({ min: 1, max: 65535 })).map(([e, p]) => `${e}:${p};transport=tcp`),
      ),
      { numRuns: 3000, seed: 4 },
    );
    const diff = { siv: [Infinity, -Infinity], siv96: [Infinity, -Infinity], siv128: [Infinity, -Infinity], untimed: [Infinity, -Infinity] };
    for (const contact of contacts) {
      const n = Buffer.byteLength(contact);
      const base = netsip.encode(contact, legs[0]!, legs[1]!).length;
      expect(base).toBe(contactTokenLength(n, 'rc4-md5'));
      expect(base).toBe(1 + Math.ceil((8 * (n + 12)) / 5));
      for (const [name, rw, bits, timed] of [['siv', siv, 64, true], ['siv96', siv96, 96, true], ['siv128', siv128, 128, true], ['untimed', untimed, 64, false]] as const) {
        const len = rw.encode(contact, legs[0]!, legs[1]!).length;
        expect(len).toBe(contactTokenLength(n, 'siv', bits, timed));
        const d = len - base;
        diff[name][0] = Math.min(diff[name][0]!, d);
        diff[name][1] = Math.max(diff[name][1]!, d);
      }
    }
    // measured [min, max] extra characters over Net::SIP's token for the same contact
    // Timed SIV tokens (the default) carry a 4-byte issue time: 6 or 7 characters more.
    expect(diff.siv).toEqual([6, 7]);
    expect(diff.siv96).toEqual([12, 13]);
    expect(diff.siv128).toEqual([19, 20]);
    expect(diff.untimed).toEqual([0, 0]);
  });

  it('gives the figures the README quotes', () => {
    const alice = Buffer.byteLength('alice@10.0.0.1:5070');
    expect(contactTokenLength(alice, 'rc4-md5')).toBe(51);
    expect(contactTokenLength(alice)).toBe(57);
    expect(contactTokenLength(alice, 'siv', 64, false)).toBe(51);
    expect(contactTokenLength(0)).toBe(27);
    expect(contactTokenLength(60)).toBe(123);
    expect(contactTokenLength(60, 'siv', 96)).toBe(129);
  });
});
