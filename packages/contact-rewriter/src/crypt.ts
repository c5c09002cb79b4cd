/**
 * An authenticated cipher for contact tokens, the shape of Net::SIP's `rewrite_crypt`
 * (`crypt(data, +1 | -1, add2mac)`) split in two functions.
 */
export interface ContactCrypt {
  /** Encrypt and authenticate `data`; `add2mac` (a string counts as its UTF-8 bytes) is authenticated, not carried. */
  encrypt(data: Uint8Array, add2mac?: Uint8Array | string): Uint8Array;
  /** The original data, or `undefined` when the MAC does not match (wrong key, `add2mac` or bytes). */
  decrypt(data: Uint8Array, add2mac?: Uint8Array | string): Uint8Array | undefined;
}

/**
 * Encrypt with `current`; decrypt with `current`, then with each of `previous` in order.
 * This is key rotation: tokens made before the rotation keep decoding while the previous key
 * is listed. Every extra key adds one more chance for a forged token's MAC to match.
 */
export function rotatingCrypt(current: ContactCrypt, ...previous: readonly ContactCrypt[]): ContactCrypt {
  if (previous.length === 0) return current;
  const all = [current, ...previous];
  return {
    encrypt: (data, add2mac) => current.encrypt(data, add2mac),
    decrypt(data, add2mac) {
      for (const crypt of all) {
        const plain = crypt.decrypt(data, add2mac);
        if (plain !== undefined) return plain;
      }
      return undefined;
    },
  };
}

/** `add2mac` as bytes: a string counts as its UTF-8 encoding (Perl strings are bytes). */
export function macBytes(add2mac: Uint8Array | string | undefined): Uint8Array {
  if (add2mac === undefined) return EMPTY;
  return typeof add2mac === 'string' ? Buffer.from(add2mac, 'utf8') : add2mac;
}

const EMPTY = new Uint8Array(0);
