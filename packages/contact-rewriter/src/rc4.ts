import { ContactRewriterError } from './errors.js';

/**
 * RC4 keystream generator (KSA + PRGA, no drop-N), written here because the OpenSSL 3 in
 * Node.js only has RC4 in its legacy provider.
 */
export class Rc4Keystream {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) {
      throw new ContactRewriterError('CONTACT_KEY_INVALID', `RC4 key must be 1–256 bytes, got ${key.length}`);
    }
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      const si = s[i]!;
      j = (j + si + key[i % key.length]!) & 255;
      s[i] = s[j]!;
      s[j] = si;
    }
  }

  /** Fill `out` with the next keystream bytes. */
  fill(out: Uint8Array): Uint8Array {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let k = 0; k < out.length; k++) {
      i = (i + 1) & 255;
      const si = s[i]!;
      j = (j + si) & 255;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      out[k] = s[(si + sj) & 255]!;
    }
    this.#i = i;
    this.#j = j;
    return out;
  }
}

/** RC4 of `data` with a fresh state keyed by `key` (encryption and decryption are the same). */
export function rc4(key: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Rc4Keystream(key).fill(new Uint8Array(data.length));
  for (let k = 0; k < out.length; k++) out[k]! ^= data[k]!;
  return out;
}
