import { createCipheriv, createHmac, createSecretKey, hkdfSync, timingSafeEqual } from 'node:crypto';
import { macBytes, type ContactCrypt } from './crypt.js';
import { ContactRewriterError } from './errors.js';

/** Options of {@link sivCrypt}. */
export interface SivCryptOptions {
  /** Secret, at least 16 bytes; the AES and HMAC keys are derived from it with HKDF-SHA-256. */
  readonly key: Uint8Array;
  /** Tag length in bits, a multiple of 8 from 32 to 128. Default 64. */
  readonly tagBits?: number | undefined;
}

/** Default tag length of {@link sivCrypt} in bits. */
export const DEFAULT_TAG_BITS = 64;
/** Shortest secret {@link sivCrypt} and the key parser accept, in bytes. */
export const MIN_CONTACT_KEY_BYTES = 16;

const HKDF_SALT = Buffer.from('sipway contact-rewriter');

/**
 * Deterministic authenticated encryption in synthetic-IV style (after RFC 5297 SIV, with
 * HMAC-SHA-256 as the PRF): `tag = HMAC(macKey, u32be(|a|) ‖ a ‖ d)` truncated to `tagBits`,
 * `c = AES-256-CTR(encKey, iv = tag ‖ 0…0, d)`, output `tag ‖ c`.
 *
 * The IV depends on the whole plaintext, so two different contacts never share a keystream
 * (unlike RC4 in {@link rc4Md5Crypt}), and no random seed is needed: the same contact over
 * the same legs always gives the same token, so an upstream registrar sees a refreshed
 * REGISTER as the same binding. A forgery succeeds with probability 2^-tagBits per try.
 * @see RFC 5297 §2.6 (SIV construction), RFC 2104 (HMAC), RFC 5869 (HKDF)
 */
export function sivCrypt(options: SivCryptOptions): ContactCrypt {
  const { key } = options;
  const tagBits = options.tagBits ?? DEFAULT_TAG_BITS;
  if (!(key instanceof Uint8Array) || key.length < MIN_CONTACT_KEY_BYTES) {
    throw new ContactRewriterError(
      'CONTACT_KEY_INVALID',
      `sivCrypt: key must be a Uint8Array of at least ${MIN_CONTACT_KEY_BYTES} bytes`,
    );
  }
  if (!Number.isInteger(tagBits) || tagBits % 8 !== 0 || tagBits < 32 || tagBits > 128) {
    throw new ContactRewriterError(
      'CONTACT_OPTION_INVALID',
      `sivCrypt: tagBits must be a multiple of 8 from 32 to 128, got ${String(tagBits)}`,
    );
  }
  const tagBytes = tagBits / 8;
  const encKey = createSecretKey(Buffer.from(hkdfSync('sha256', key, HKDF_SALT, 'siv aes-256-ctr', 32)));
  const macKey = createSecretKey(Buffer.from(hkdfSync('sha256', key, HKDF_SALT, 'siv hmac-sha-256', 32)));

  const tag = (data: Uint8Array, add2mac: Uint8Array): Buffer => {
    // The length prefix keeps add2mac and data apart: (a, d) and (a', d') with a ‖ d = a' ‖ d' differ.
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(add2mac.length, 0);
    return createHmac('sha256', macKey).update(len).update(add2mac).update(data).digest().subarray(0, tagBytes);
  };
  // AES-CTR built on one long-lived AES-ECB context: ECB keeps no state between blocks, so
  // encrypting the counter blocks gives the CTR keystream without a cipher set-up per token.
  const ecb = createCipheriv('aes-256-ecb', encKey, null).setAutoPadding(false);
  const ctr = (iv: Uint8Array, input: Uint8Array, out: Uint8Array, at: number): void => {
    if (input.length === 0) return;
    const blocks = Math.ceil(input.length / 16);
    const counters = Buffer.alloc(blocks * 16);
    counters.set(iv);
    for (let b = 1; b < blocks; b++) {
      const o = b * 16;
      counters.copy(counters, o, o - 16, o);
      // 128-bit big-endian increment, as OpenSSL's CTR mode does
      for (let k = o + 15; k >= o && ++counters[k]! === 256; k--) counters[k] = 0;
    }
    const keystream = ecb.update(counters);
    for (let k = 0; k < input.length; k++) out[at + k] = input[k]! ^ keystream[k]!;
  };

  return {
    encrypt(data, add2macInput) {
      const add2mac = macBytes(add2macInput);
      const t = tag(data, add2mac);
      const out = new Uint8Array(tagBytes + data.length);
      out.set(t, 0);
      ctr(t, data, out, tagBytes);
      return out;
    },
    decrypt(data, add2macInput) {
      const add2mac = macBytes(add2macInput);
      if (data.length < tagBytes) return undefined;
      const t = data.subarray(0, tagBytes);
      const plain = new Uint8Array(data.length - tagBytes);
      ctr(t, data.subarray(tagBytes), plain, 0);
      return timingSafeEqual(tag(plain, add2mac), t) ? plain : undefined;
    },
  };
}
