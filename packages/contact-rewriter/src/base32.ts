/**
 * Base32 with the RFC 4648 §6 alphabet `A–Z2–7` and no `=` padding, as Net::SIP's
 * `_encode_base32`: the last partial group is filled with zero bits.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
// Net::SIP's decoder maps a–z like A–Z (its token regex never lets them through, though).
for (let i = 0; i < 26; i++) DECODE[0x61 + i] = i;

/** Options of {@link base32Decode}. */
export interface Base32DecodeOptions {
  /**
   * `true` (default): reject a text whose leftover bits are not zero or whose length no byte
   * string can produce (length mod 8 of 1, 3 or 6), so every byte string has exactly one
   * accepted text. `false`: drop the leftover bits as Net::SIP does, which accepts e.g. a
   * token whose last character was changed in its padding bits.
   */
  readonly strict?: boolean | undefined;
}

/**
 * Encode bytes as unpadded base32 (`A–Z2–7`): `ceil(8·n/5)` characters.
 * @see RFC 4648 §6
 */
export function base32Encode(data: Uint8Array): string {
  const out = Buffer.allocUnsafe(Math.ceil((data.length * 8) / 5));
  let o = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    buffer = ((buffer << 8) | data[i]!) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[o++] = ENCODE[(buffer >>> bits) & 31]!;
    }
  }
  if (bits > 0) out[o++] = ENCODE[(buffer << (5 - bits)) & 31]!;
  return out.toString('latin1', 0, o);
}

/**
 * Decode unpadded base32. Accepts `A–Z`, `a–z` (as upper case, like Net::SIP) and `2–7`;
 * returns `undefined` for any other character (including `=`) and, when strict, for a
 * non-canonical text (see {@link Base32DecodeOptions.strict}).
 * @see RFC 4648 §6
 */
export function base32Decode(text: string, options?: Base32DecodeOptions): Uint8Array | undefined {
  const strict = options?.strict ?? true;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let o = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) return undefined;
    buffer = ((buffer << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >>> bits) & 0xff;
    }
  }
  // RFC 4648 §3.5: canonical encodings have zero pad bits; fewer than 5 bits can be left over.
  if (strict && (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0)) return undefined;
  return o === out.length ? out : out.subarray(0, o);
}
