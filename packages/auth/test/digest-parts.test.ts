import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryNonceCountStore, computeDigestResponse, computeHa1, formatChallenge, parseCredentials } from '../src/index.js';
import { H } from './helpers.js';

describe('parseCredentials', () => {
  it('reads quoted and token values, escapes, commas inside quotes, odd whitespace', () => {
    const c = parseCredentials('Digest  username="a\\"b,c" ,realm = "r", nc=00000001,qop=auth ,  response="ff"');
    expect(c?.scheme).toBe('Digest');
    expect(Object.fromEntries(c!.params)).toEqual({ username: 'a"b,c', realm: 'r', nc: '00000001', qop: 'auth', response: 'ff' });
  });

  it('refuses junk, an unclosed quote and a repeated parameter', () => {
    expect(parseCredentials('')).toBeUndefined();
    expect(parseCredentials('Digest username="open')).toBeUndefined();
    expect(parseCredentials('Digest realm="a", realm="b"')).toBeUndefined();
    expect(parseCredentials('Digest novalue')).toBeUndefined();
  });

  it('round-trips any username through the quoting of formatChallenge-style values', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const quoted = `"${s.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
        expect(parseCredentials(`Digest username=${quoted}, realm="r"`)?.params.get('username')).toBe(s);
      }),
    );
  });
});

describe('formatChallenge', () => {
  it('writes algorithm and stale as tokens and qop as a quoted list (RFC 2617 §3.2.1)', () => {
    expect(formatChallenge({ realm: 'a"b', nonce: 'n', algorithm: 'SHA-256', qop: true, stale: true, opaque: 'o' })).toBe(
      'Digest realm="a\\"b", nonce="n", opaque="o", stale=TRUE, algorithm=SHA-256, qop="auth"',
    );
  });
});

describe('digest computation matches RFC 2617 §3.5 (the "Circle Of Life" example, MD5, qop=auth)', () => {
  it('gives 6629fae49393a05397450978507c4ef1', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(ha1).toBe(H('MD5', 'Mufasa:testrealm@host.com:Circle Of Life'));
    const r = computeDigestResponse({
      algorithm: 'MD5',
      ha1,
      method: 'GET',
      uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      qop: { qop: 'auth', nc: '00000001', cnonce: '0a4f113b' },
    });
    expect(r).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('gives 753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1 for RFC 7616 §3.9.1 (SHA-256)', () => {
    const r = computeDigestResponse({
      algorithm: 'SHA-256',
      ha1: computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life'),
      method: 'GET',
      uri: '/dir/index.html',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      qop: { qop: 'auth', nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' },
    });
    expect(r).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });
});

describe('MemoryNonceCountStore', () => {
  it('accepts each count once and only increasing', () => {
    const s = new MemoryNonceCountStore();
    expect(s.use('n', 1, 0)).toBe(true);
    expect(s.use('n', 1, 0)).toBe(false);
    expect(s.use('n', 5, 0)).toBe(true);
    expect(s.use('n', 4, 0)).toBe(false);
    expect(s.use('m', 1, 0)).toBe(true);
  });

  it('stays bounded, and refuses nonces issued before an evicted one instead of forgetting their counts', () => {
    const s = new MemoryNonceCountStore({ maxEntries: 2 });
    expect(s.use('a', 1, 100)).toBe(true);
    expect(s.use('b', 1, 200)).toBe(true);
    expect(s.use('c', 1, 300)).toBe(true); // evicts a (issued at 100)
    expect(s.size).toBe(2);
    expect(s.use('a', 1, 100)).toBe(false); // replay of an evicted nonce: refused
    expect(s.use('z', 1, 50)).toBe(false); // older than the watermark: refused
    expect(s.use('d', 1, 400)).toBe(true);
  });

  it('keeps a recently used nonce when older ones go (LRU)', () => {
    const s = new MemoryNonceCountStore({ maxEntries: 2 });
    s.use('a', 1, 100);
    s.use('b', 1, 200);
    s.use('a', 2, 100); // a is now the most recent
    s.use('c', 1, 300); // evicts b
    expect(s.use('a', 2, 100)).toBe(false);
    expect(s.use('a', 3, 100)).toBe(true);
  });
});
