import { randomFillSync } from 'node:crypto';

// Seeds are drawn often and are small: fill a pool and hand out slices of it.
const pool = new Uint8Array(4096);
let offset = pool.length;

/** `n` (≤ 4096) cryptographically random bytes, copied out of a pool. */
export function randomBytesPooled(n: number): Uint8Array {
  if (offset + n > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.slice(offset, offset + n);
  offset += n;
  return out;
}
