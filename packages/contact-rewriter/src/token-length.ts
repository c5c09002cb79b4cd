import { DEFAULT_TAG_BITS } from './siv-crypt.js';

/** Names of the built-in codecs. */
export type ContactCodecName = 'siv' | 'rc4-md5';

/**
 * First character of the tokens of each codec: `b` as Net::SIP (so a token never looks like a
 * phone number), `s` for the SIV codec, so both can be decoded side by side.
 */
export const CONTACT_TOKEN_PREFIX: Readonly<Record<ContactCodecName, string>> = Object.freeze({
  siv: 's',
  'rc4-md5': 'b',
});

/**
 * Length in characters of the token for a contact of `contactBytes` UTF-8 bytes:
 * - `rc4-md5`: `1 + ceil(8·(n + 12) / 5)` (4 seed + 4 leg indices + 4 MAC bytes), as Net::SIP;
 * - `siv`: `1 + ceil(8·(n + 4 + tagBits/8) / 5)`, the same as Net::SIP at the default 64-bit
 *   tag, at most 7 characters more up to 96 bits, 13 more at 128 bits.
 */
export function contactTokenLength(
  contactBytes: number,
  codec: ContactCodecName = 'siv',
  tagBits: number = DEFAULT_TAG_BITS,
): number {
  const overhead = codec === 'rc4-md5' ? 12 : 4 + tagBits / 8;
  return 1 + Math.ceil((8 * (contactBytes + overhead)) / 5);
}
