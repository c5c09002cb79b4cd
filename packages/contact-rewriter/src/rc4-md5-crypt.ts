import * as nodeCrypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';
import { macBytes, type ContactCrypt } from './crypt.js';
import { ContactRewriterError } from './errors.js';
import { randomBytesPooled } from './random.js';
import { Rc4Keystream } from './rc4.js';

/** Options of {@link rc4Md5Crypt}. */
export interface Rc4Md5CryptOptions {
  /** RC4 key, 1–256 bytes (Net::SIP draws 21 random bytes per process). */
  readonly key: Uint8Array;
  /** Appended to the MD5 input (Net::SIP draws 4 random bytes per process). */
  readonly macKey: Uint8Array;
  /**
   * The 4 bytes put in front of every plaintext: fixed bytes (test vectors) or a function
   * called per encryption. Default: 4 cryptographically random bytes per encryption.
   */
  readonly seed?: (Uint8Array | (() => Uint8Array)) | undefined;
}

// crypto.hash (Node ≥ 20.12) hashes in one call, several times faster than createHash for
// inputs this small; Node 20.11 falls back to createHash.
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

const SEED_BYTES = 4;
const MAC_BYTES = 4;

/**
 * Net::SIP's default `rewrite_crypt` (`_stupid_crypt` in StatelessProxy.pm), byte for byte:
 * `encrypt(d, a)` = `c ‖ MD5(c ‖ a ‖ macKey)[0..4]` with `c = RC4(key, seed ‖ d)`, RC4 freshly
 * keyed for every message; `decrypt` checks that MAC and returns `d` without the seed.
 *
 * Weak by design, kept for compatibility: every message uses the same RC4 keystream (the seed
 * only changes the first 4 bytes), so XOR of two tokens leaks XOR of their contacts; the MAC
 * has 32 bits. Prefer {@link sivCrypt}.
 */
export function rc4Md5Crypt(options: Rc4Md5CryptOptions): ContactCrypt {
  const { key, macKey, seed } = options;
  if (!(key instanceof Uint8Array) || !(macKey instanceof Uint8Array)) {
    throw new ContactRewriterError('CONTACT_KEY_INVALID', 'rc4Md5Crypt: key and macKey must be Uint8Array');
  }
  if (seed instanceof Uint8Array && seed.length !== SEED_BYTES) {
    throw new ContactRewriterError('CONTACT_OPTION_INVALID', `rc4Md5Crypt: seed must be ${SEED_BYTES} bytes`);
  }
  const macKeyCopy = Uint8Array.from(macKey);
  const rc4 = new Rc4Keystream(key);
  // The keystream is the same for every message (RC4 is re-keyed identically): generate it
  // once and extend it on demand instead of running the key schedule per message.
  let keystream = rc4.fill(new Uint8Array(256));
  const keystreamFor = (n: number): Uint8Array => {
    if (n > keystream.length) {
      const longer = new Uint8Array(Math.max(n, keystream.length * 2));
      longer.set(keystream);
      rc4.fill(longer.subarray(keystream.length));
      keystream = longer;
    }
    return keystream;
  };
  const nextSeed = (): Uint8Array => {
    if (seed === undefined) return randomBytesPooled(SEED_BYTES);
    const s = typeof seed === 'function' ? seed() : seed;
    if (!(s instanceof Uint8Array) || s.length !== SEED_BYTES) {
      throw new ContactRewriterError('CONTACT_OPTION_INVALID', `rc4Md5Crypt: seed must be ${SEED_BYTES} bytes`);
    }
    return s;
  };
  const mac = (ciphertext: Uint8Array, add2mac: Uint8Array): Buffer =>
    oneShotHash !== undefined
      ? oneShotHash('md5', Buffer.concat([ciphertext, add2mac, macKeyCopy]), 'buffer')
      : createHash('md5').update(ciphertext).update(add2mac).update(macKeyCopy).digest();

  return {
    encrypt(data, add2macInput) {
      const add2mac = macBytes(add2macInput);
      const n = SEED_BYTES + data.length;
      const out = new Uint8Array(n + MAC_BYTES);
      out.set(nextSeed(), 0);
      out.set(data, SEED_BYTES);
      const ks = keystreamFor(n);
      for (let k = 0; k < n; k++) out[k]! ^= ks[k]!;
      out.set(mac(out.subarray(0, n), add2mac).subarray(0, MAC_BYTES), n);
      return out;
    },
    decrypt(data, add2macInput) {
      const add2mac = macBytes(add2macInput);
      if (data.length < SEED_BYTES + MAC_BYTES) return undefined;
      const n = data.length - MAC_BYTES;
      const ciphertext = data.subarray(0, n);
      const expected = mac(ciphertext, add2mac).subarray(0, MAC_BYTES);
      if (!timingSafeEqual(expected, data.subarray(n))) return undefined;
      const ks = keystreamFor(n);
      const out = new Uint8Array(n - SEED_BYTES);
      for (let k = SEED_BYTES; k < n; k++) out[k - SEED_BYTES] = ciphertext[k]! ^ ks[k]!;
      return out;
    },
  };
}
