import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ContactRewriterError, rc4Md5Crypt, rotatingCrypt, sivCrypt } from '../src/index.js';
import { hex, toHex } from './netsip-fixture.js';

const KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const AD = Buffer.from('udp:192.0.2.10:5060|udp:198.51.100.20:5060');
const DATA = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('alice@10.0.0.1:5070')]);

/** The construction written out with node:crypto alone, as the README describes it. */
function reference(key: Uint8Array, data: Uint8Array, ad: Uint8Array, tagBytes: number): string {
  const salt = Buffer.from('sipway contact-rewriter');
  const encKey = Buffer.from(hkdfSync('sha256', key, salt, 'siv aes-256-ctr', 32));
  const macKey = Buffer.from(hkdfSync('sha256', key, salt, 'siv hmac-sha-256', 32));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(ad.length);
  const tag = createHmac('sha256', macKey).update(len).update(ad).update(data).digest().subarray(0, tagBytes);
  const iv = Buffer.concat([tag, Buffer.alloc(16 - tagBytes)]);
  const c = createCipheriv('aes-256-ctr', encKey, iv).update(data);
  return toHex(Buffer.concat([tag, c]));
}

describe('sivCrypt', () => {
  it('is the documented construction (HKDF, truncated HMAC-SHA-256 as tag and IV, AES-256-CTR)', () => {
    for (const tagBits of [32, 64, 96, 128]) {
      const out = sivCrypt({ key: KEY, tagBits }).encrypt(DATA, AD);
      expect(toHex(out)).toBe(reference(KEY, DATA, AD, tagBits / 8));
    }
  });

  it('keeps a pinned known-answer vector (a format change would break deployed tokens)', () => {
    expect(toHex(sivCrypt({ key: KEY }).encrypt(DATA, AD))).toBe(PINNED);
  });

  it('round-trips and is deterministic', () => {
    const crypt = sivCrypt({ key: KEY });
    const a = crypt.encrypt(DATA, AD);
    expect(toHex(crypt.encrypt(DATA, AD))).toBe(toHex(a));
    expect(a.length).toBe(8 + DATA.length);
    expect(crypt.decrypt(a, AD)).toEqual(new Uint8Array(DATA));
    expect(crypt.decrypt(crypt.encrypt(new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('rejects a flipped bit anywhere, a wrong add2mac, a wrong key and short input', () => {
    const crypt = sivCrypt({ key: KEY });
    const out = crypt.encrypt(DATA, AD);
    for (let i = 0; i < out.length * 8; i++) {
      const bad = Uint8Array.from(out);
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(crypt.decrypt(bad, AD), `bit ${i}`).toBeUndefined();
    }
    expect(crypt.decrypt(out, Buffer.from('udp:192.0.2.10:5060'))).toBeUndefined();
    expect(crypt.decrypt(out)).toBeUndefined();
    const other = Uint8Array.from(KEY);
    other[0] = 1;
    expect(sivCrypt({ key: other }).decrypt(out, AD)).toBeUndefined();
    expect(crypt.decrypt(out.subarray(0, 7), AD)).toBeUndefined();
    expect(crypt.decrypt(out.subarray(0, out.length - 1), AD)).toBeUndefined();
  });

  it('separates add2mac from data (length prefix)', () => {
    const crypt = sivCrypt({ key: KEY });
    const a = crypt.encrypt(Buffer.from('cd'), Buffer.from('ab'));
    expect(crypt.decrypt(a, Buffer.from('abc'))).toBeUndefined();
    const b = crypt.encrypt(Buffer.from('bcd'), Buffer.from('a'));
    expect(toHex(a.subarray(0, 8))).not.toBe(toHex(b.subarray(0, 8)));
  });

  it('does not reuse keystream across contacts, unlike RC4/MD5', () => {
    const p1 = Buffer.from('\0\0\0\x01alice@10.0.0.1:5070');
    const p2 = Buffer.from('\0\0\0\x01carol@10.0.0.2:5070');
    const xor = (a: Uint8Array, b: Uint8Array) => toHex(a.map((x, i) => x ^ b[i]!));
    const siv = sivCrypt({ key: KEY });
    const s1 = siv.encrypt(p1, AD).subarray(8);
    const s2 = siv.encrypt(p2, AD).subarray(8);
    expect(xor(s1, s2)).not.toBe(xor(p1, p2));
    // RC4/MD5: ciphertext XOR equals plaintext XOR after the 4 seed bytes (the documented weakness).
    const rc = rc4Md5Crypt({ key: KEY.subarray(0, 21), macKey: KEY.subarray(0, 4) });
    const r1 = rc.encrypt(p1, AD).subarray(4, 4 + p1.length);
    const r2 = rc.encrypt(p2, AD).subarray(4, 4 + p2.length);
    expect(xor(r1, r2)).toBe(xor(p1, p2));
  });

  it('validates key and tag length', () => {
    expect(() => sivCrypt({ key: new Uint8Array(15) })).toThrow(ContactRewriterError);
    for (const tagBits of [0, 24, 33, 136, 64.5, Number.NaN]) {
      expect(() => sivCrypt({ key: KEY, tagBits }), String(tagBits)).toThrow(/tagBits/);
    }
    try {
      sivCrypt({ key: KEY, tagBits: 7 });
    } catch (error) {
      expect(ContactRewriterError.isInstance(error) && error.code).toBe('CONTACT_OPTION_INVALID');
    }
  });
});

describe('rc4Md5Crypt', () => {
  it('rejects short input, a changed MAC and a seed that is not 4 bytes', () => {
    const crypt = rc4Md5Crypt({ key: Buffer.from('k'), macKey: Buffer.from('m'), seed: Buffer.from('SEED') });
    const out = crypt.encrypt(Buffer.from('abc'), AD);
    expect(out.length).toBe(4 + 3 + 4);
    expect(crypt.decrypt(out.subarray(0, 7), AD)).toBeUndefined();
    const bad = Uint8Array.from(out);
    bad[bad.length - 1]! ^= 0x80;
    expect(crypt.decrypt(bad, AD)).toBeUndefined();
    expect(() => rc4Md5Crypt({ key: Buffer.from('k'), macKey: Buffer.from('m'), seed: Buffer.from('xyz') })).toThrow(/4 bytes/);
    const fn = rc4Md5Crypt({ key: Buffer.from('k'), macKey: Buffer.from('m'), seed: () => new Uint8Array(5) });
    expect(() => fn.encrypt(new Uint8Array(1))).toThrow(/4 bytes/);
  });

  it('draws a fresh random seed per encryption by default', () => {
    const crypt = rc4Md5Crypt({ key: Buffer.from('key'), macKey: Buffer.from('mac') });
    const seeds = new Set(Array.from({ length: 64 }, () => toHex(crypt.encrypt(Buffer.from('x')).subarray(0, 4))));
    expect(seeds.size).toBeGreaterThan(60);
  });

  it('handles data longer than its cached keystream', () => {
    const key = Buffer.from('0123456789abcdefghijk');
    const crypt = rc4Md5Crypt({ key, macKey: Buffer.from('MACK'), seed: Buffer.from('SEED') });
    const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const out = crypt.encrypt(data);
    expect(out.subarray(0, 5004)).toEqual(
      Uint8Array.from(Buffer.concat([Buffer.from('SEED'), data])).map((x, i) => x ^ ksAt(key, i)),
    );
    expect(crypt.decrypt(out)).toEqual(data);
  });
});

function ksAt(key: Uint8Array, i: number): number {
  cache ??= rc4Ks(key, 6000);
  return cache[i]!;
}
let cache: Uint8Array | undefined;
function rc4Ks(key: Uint8Array, n: number): Uint8Array {
  const s = Uint8Array.from({ length: 256 }, (_, i) => i);
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 255;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = new Uint8Array(n);
  let i = 0;
  j = 0;
  for (let k = 0; k < n; k++) {
    i = (i + 1) & 255;
    j = (j + s[i]!) & 255;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = s[(s[i]! + s[j]!) & 255]!;
  }
  return out;
}

describe('rotatingCrypt', () => {
  it('encrypts with the current crypt and decrypts with any', () => {
    const old = sivCrypt({ key: KEY });
    const current = sivCrypt({ key: KEY.map((x) => x ^ 0xff) });
    const both = rotatingCrypt(current, old);
    const fromOld = old.encrypt(DATA, AD);
    expect(both.decrypt(fromOld, AD)).toEqual(new Uint8Array(DATA));
    const fresh = both.encrypt(DATA, AD);
    expect(current.decrypt(fresh, AD)).toEqual(new Uint8Array(DATA));
    expect(old.decrypt(fresh, AD)).toBeUndefined();
    expect(rotatingCrypt(current)).toBe(current);
  });
});

const PINNED = '91e02f405777f1d591723d9317674805e29eb943d28d2eab66996706cc3d7d';
