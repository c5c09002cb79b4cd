/**
 * An authenticated cipher for contact tokens, the shape of Net::SIP's `rewrite_crypt`
 * (`crypt(data, +1 | -1, add2mac)`) split in two functions.
 */
export interface ContactCrypt {
  /** Encrypt and authenticate `data`; `add2mac` is authenticated, not carried. */
  encrypt(data: Uint8Array, add2mac?: Uint8Array): Uint8Array;
  /** The original data, or `undefined` when the MAC does not match (wrong key, `add2mac` or bytes). */
  decrypt(data: Uint8Array, add2mac?: Uint8Array): Uint8Array | undefined;
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
