/** The value of a string of 1..max ASCII digits, or -1. */
export function digits(text: string, max: number): number {
  const n = text.length;
  if (n === 0 || n > max) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
