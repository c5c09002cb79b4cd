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
 * - `siv` (timed, the default): `1 + ceil(8·(n + 8 + tagBits/8) / 5)` (4 bytes of issue time,
 *   4 of leg indices, the tag): 6 or 7 characters more than Net::SIP at the default 64-bit tag;
 * - `siv` untimed (`tokenLifetime: 0`): `1 + ceil(8·(n + 4 + tagBits/8) / 5)`, Net::SIP's length
 *   at 64 bits.
 */
export function contactTokenLength(
  contactBytes: number,
  codec: ContactCodecName = 'siv',
  tagBits: number = DEFAULT_TAG_BITS,
  timed: boolean = codec === 'siv',
): number {
  const overhead = codec === 'rc4-md5' ? 12 : (timed ? 8 : 4) + tagBits / 8;
  return 1 + Math.ceil((8 * (contactBytes + overhead)) / 5);
}
