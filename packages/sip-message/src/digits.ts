/**
 * The value of `1*DIGIT` (RFC 3261 §25.1) in `text`, or -1 when `text` is empty or holds anything
 * but ASCII digits. Leading zeros are legal and any number of digits is read; a value above `cap`
 * comes back as `cap`, so callers that must refuse out-of-range values pass one more than the
 * largest value they accept (a port: 65536). Never throws, never overflows.
 */
export function digits(text: string, cap: number): number {
  const n = text.length;
  if (n === 0) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    if (v < cap) v = v * 10 + d;
  }
  return v < cap ? v : cap;
}

/** {@link digits} over `buf[start, end)`, without making a string. */
export function digitsFromBytes(buf: Uint8Array, start: number, end: number, cap: number): number {
  if (end <= start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    if (v < cap) v = v * 10 + d;
  }
  return v < cap ? v : cap;
}

/** Largest delta-seconds value: RFC 3261 §20.19 (Expires) and §20.10 (Contact expires). */
export const MAX_DELTA_SECONDS = 2 ** 32 - 1;
