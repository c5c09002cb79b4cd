import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, rc4, Rc4Keystream } from '../src/index.js';
import { hex, toHex } from './netsip-fixture.js';

describe('rc4', () => {
  it('matches RFC 6229 for the 40-bit key 0x0102030405 (offset 0)', () => {
    expect(toHex(rc4(hex('0102030405'), new Uint8Array(16)))).toBe('b2396305f03dc027ccc3524a0a1118a8');
  });

  it("matches OpenSSL's legacy RC4 for a 128-bit key (64 bytes, RFC 6229 offset 0 = 9ac7cc9a…)", () => {
    // printf to /dev/zero | openssl enc -rc4 -K 0102…0f10 -provider legacy -provider default -nosalt
    expect(toHex(rc4(hex('0102030405060708090a0b0c0d0e0f10'), new Uint8Array(64)))).toBe(
      '9ac7cc9a609d1ef7b2932899cde41b975248c4959014126a6e8a84f11d1a9e1c' +
        '0b9de3e45521a0bf5b9a607bf634ccf5b514bc34bc220c8e8f33b18ad5773d7e',
    );
  });

  it('matches the classic test vectors and is its own inverse', () => {
    const cases: [string, string, string][] = [
      ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
      ['Wiki', 'pedia', '1021bf0420'],
      ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
    ];
    for (const [key, plain, cipher] of cases) {
      const out = rc4(Buffer.from(key), Buffer.from(plain));
      expect(toHex(out)).toBe(cipher);
      expect(Buffer.from(rc4(Buffer.from(key), out)).toString()).toBe(plain);
    }
  });

  it('continues the keystream across fill() calls', () => {
    const ks = new Rc4Keystream(hex('0102030405'));
    const a = ks.fill(new Uint8Array(5));
    const b = ks.fill(new Uint8Array(11));
    expect(toHex(a) + toHex(b)).toBe('b2396305f03dc027ccc3524a0a1118a8');
  });

  it('rejects an empty key and one longer than 256 bytes', () => {
    expect(() => rc4(new Uint8Array(0), new Uint8Array(1))).toThrow(/1–256 bytes/);
    expect(() => rc4(new Uint8Array(257), new Uint8Array(1))).toThrow(/1–256 bytes/);
    expect(rc4(new Uint8Array(256).fill(7), new Uint8Array(3)).length).toBe(3);
  });
});

describe('base32', () => {
  // RFC 4648 §10 test vectors, without the '=' padding Net::SIP never writes.
  const rfc: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];

  it('encodes and decodes the RFC 4648 §10 vectors without padding', () => {
    for (const [plain, text] of rfc) {
      expect(base32Encode(Buffer.from(plain))).toBe(text);
      expect(Buffer.from(base32Decode(text)!).toString()).toBe(plain);
    }
  });

  it('decodes lower case like upper case, as Net::SIP does', () => {
    expect(Buffer.from(base32Decode('mzxw6ytboi')!).toString()).toBe('foobar');
  });

  it('rejects characters outside the alphabet, including padding and digits 0, 1, 8, 9', () => {
    for (const bad of ['MY======', 'MZXW6YT0', 'MZXW1', 'MZ8Q', 'MZ9Q', 'MZ Q', 'MZ-Q', 'MZ\u00c4Q', 'MZ\u{1f600}']) {
      expect(base32Decode(bad), bad).toBeUndefined();
    }
  });

  it('rejects non-canonical texts unless strict is false', () => {
    // 'MZ' = 01100 11001: 8 data bits + 2 padding bits that must be zero.
    expect(base32Decode('MZ')).toBeUndefined();
    expect(toHex(base32Decode('MZ', { strict: false })!)).toBe('66');
    // 1, 3 or 6 characters in the last group cannot come from any byte string.
    for (const bad of ['M', 'MZX', 'MZXW6Y', 'MZXW6YTBM']) expect(base32Decode(bad), bad).toBeUndefined();
    expect(base32Decode('M', { strict: false })).toEqual(new Uint8Array(0));
  });

  it('round-trips every length up to 64 bytes', () => {
    for (let n = 0; n <= 64; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n) & 0xff);
      const text = base32Encode(data);
      expect(text).toMatch(/^[A-Z2-7]*$/);
      expect(text.length).toBe(Math.ceil((n * 8) / 5));
      expect(base32Decode(text)).toEqual(data);
    }
  });
});
