/**
 * A fast 64-bit non-cryptographic hash of a string, as 16 lower-case hex digits (two
 * independently seeded 32-bit multiply-xorshift lanes over UTF-16 code units). Branches and loop
 * parts only need distinct inputs to give distinct outputs with overwhelming probability; they
 * need no secrecy, so md5's cost (a native call and a digest object per hash) buys nothing on
 * the hot path.
 */
export function hash64(text: string): string {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
