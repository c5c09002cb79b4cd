import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordRouteSigner } from '../src/index.js';

/** What the signature is defined as: base64url of the first 12 bytes of HMAC-SHA-256(key, Call-ID LF tag). */
const reference = (key: Buffer, callId: string, tag: string): string =>
  createHmac('sha256', key).update(`${callId}\n${tag}`).digest().subarray(0, 12).toString('base64url');

describe('RecordRouteSigner', () => {
  it('signs exactly as HMAC-SHA-256 (RFC 2104) for keys shorter, equal to and longer than the block', () => {
    for (const keyLength of [16, 32, 64, 65, 100]) {
      const key = randomBytes(keyLength);
      const signer = new RecordRouteSigner(key);
      for (const [callId, tag] of [
        ['a84b4c76e66710@pc33.atlanta.com', '1928301774'],
        ['', ''],
        ['x'.repeat(300), 'long Call-ID: the buffer grows'],
        ['ünïcödé@host', 'tag-é'],
        ['short', 'after a long one'],
      ] as const) {
        expect(signer.sign(callId, tag), `${keyLength}/${callId.slice(0, 10)}`).toBe(reference(key, callId, tag));
        // A second time from the cache: the same.
        expect(signer.sign(callId, tag)).toBe(reference(key, callId, tag));
      }
    }
  });

  it('verifies its own signatures for either tag, refuses other keys, other dialogs and bad lengths', () => {
    const signer = new RecordRouteSigner(randomBytes(32));
    const other = new RecordRouteSigner(randomBytes(32));
    const sig = signer.sign('call-1', 'from-tag');
    expect(signer.verify(sig, 'call-1', [undefined, 'to-tag', 'from-tag'])).toBe(true);
    expect(signer.verify(sig, 'call-2', ['from-tag'])).toBe(false);
    expect(signer.verify(sig, 'call-1', ['to-tag'])).toBe(false);
    expect(other.verify(sig, 'call-1', ['from-tag'])).toBe(false);
    expect(signer.verify(sig.slice(1), 'call-1', ['from-tag'])).toBe(false);
    expect(signer.verify('', 'call-1', ['from-tag'])).toBe(false);
  });

  it('stays right past the cache bound (the oldest entries are recomputed)', () => {
    const key = randomBytes(32);
    const signer = new RecordRouteSigner(key);
    for (let i = 0; i < 20_000; i++) signer.sign(`call-${i}`, 'tag');
    expect(signer.sign('call-0', 'tag')).toBe(reference(key, 'call-0', 'tag'));
    expect(signer.sign('call-19999', 'tag')).toBe(reference(key, 'call-19999', 'tag'));
  });
});
