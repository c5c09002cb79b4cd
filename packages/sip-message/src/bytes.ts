interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/**
 * Buffer's own latin1Slice: the fastest way from ASCII bytes to a string, without the
 * argument checks of `toString('latin1', …)`. Untyped in @types/node, hence this wrapper.
 */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1Sliceable).latin1Slice(start, end);
}

interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string;
}

/** Buffer's own utf8Slice, without the argument checks of `toString('utf8', …)`. */
export function utf8(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Utf8Sliceable).utf8Slice(start, end);
}

interface Utf8Writable {
  utf8Write(text: string, offset: number, length?: number): number;
}

/** Buffer's own utf8Write, without the argument handling of `write(…)`. Returns bytes written. */
export function writeUtf8(buf: Buffer, text: string, offset: number): number {
  return (buf as unknown as Utf8Writable).utf8Write(text, offset);
}
