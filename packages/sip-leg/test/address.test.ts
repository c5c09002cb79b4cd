import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipFamily, isDottedQuad } from '../src/address.js';

// ipFamily checks dotted quads by hand (the hot path) and must agree with net.isIP everywhere.
const expected = (text: string): 4 | 6 | undefined => {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const kind = isIP(bare);
  return kind === 4 ? 4 : kind === 6 ? 6 : undefined;
};

describe('ipFamily agrees with net.isIP', () => {
  const cases = [
    '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.1.1', '1.1.1.1.1', '01.1.1.1', '1.01.1.1',
    '1.1.1.00', '1.1.1.0', '1..1.1', '.1.1.1', '1.1.1.', '1.1.1.1 ', ' 1.1.1.1', '1.1.1.1a', 'a.b.c.d',
    '1000.1.1.1', '192.168.001.1', '', '::1', '[::1]', '::ffff:127.0.0.1', '[::ffff:127.0.0.1]', 'fe80::1%eth0',
    '2001:db8::1', '[2001:db8::1', 'example.com', 'localhost', '12345678.1', '9.9.9.9', '99.99.99.99', '199.249.250.251',
    '1.2.3.4\n', '١.١.١.١',
  ];
  it.each(cases)('%j', (text) => {
    expect(ipFamily(text)).toBe(expected(text));
  });

  it('over 100,000 random strings: free characters, and dotted parts of random digits', () => {
    const alphabet = '0123456789....:ax[] ';
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pick = (s: string) => s[Math.floor(random() * s.length)]!;
    let fours = 0;
    for (let i = 0; i < 100_000; i++) {
      let text = '';
      if (i % 2 === 0) {
        const length = 1 + Math.floor(random() * 16);
        for (let j = 0; j < length; j++) text += pick(alphabet);
      } else {
        const parts = 3 + Math.floor(random() * 3);
        for (let p = 0; p < parts; p++) {
          if (p > 0) text += random() < 0.95 ? '.' : pick(':. a');
          const digits = Math.floor(random() * 4);
          for (let d = 0; d < digits; d++) text += pick(d === 0 ? '0123456789' : '0123456789012345');
        }
      }
      const want = expected(text);
      if (want === 4) fours++;
      expect(ipFamily(text), text).toBe(want);
      expect(isDottedQuad(text), text).toBe(isIP(text) === 4);
    }
    // The generator reaches valid addresses, so the agreement is tested on both sides.
    expect(fours).toBeGreaterThan(1000);
  });

  it('every octet value, with and without leading zeros', () => {
    for (let v = 0; v < 1000; v++) {
      for (const octet of [String(v), `0${v}`, `00${v}`]) {
        const text = `10.${octet}.0.1`;
        expect(ipFamily(text), text).toBe(expected(text));
      }
    }
  });
});
