import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hash64 } from '../src/hash64.js';

describe('hash64', () => {
  it('gives 16 hex digits, the same for the same text', () => {
    expect(hash64('call1@127.0.0.1\n1')).toMatch(/^[0-9a-f]{16}$/);
    expect(hash64('a')).toBe(hash64('a'));
    expect(hash64('')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('separates near-identical inputs (the CSeq numbers of one call)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(hash64(`z9hG4bKuac1\ncall1@127.0.0.1\n${i}`));
    expect(seen.size).toBe(100_000);
  });

  it('differs when any one character changes', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), fc.nat(), fc.integer({ min: 1, max: 0xffff }), (s, pos, delta) => {
        const i = pos % s.length;
        const t = s.slice(0, i) + String.fromCharCode((s.charCodeAt(i) + delta) % 0x10000) + s.slice(i + 1);
        return t === s || hash64(t) !== hash64(s);
      }),
    );
  });
});
