// Bencode, the dictionary format of rtpengine's ng control protocol: a small exact codec, no
// dependency. The decoder reads untrusted datagrams: every length is checked against the bytes
// left, nesting is bounded, numbers are parsed digit by digit (no regex, no backtracking).

/** A bencode value as this codec gives it: byte strings are decoded as UTF-8 text. */
export type BencodeValue = string | number | BencodeValue[] | BencodeDict;
/** A dictionary (null prototype: a key `__proto__` is data, never a prototype). */
export interface BencodeDict {
  [key: string]: BencodeValue;
}
/** What {@link bencodeEncode} accepts: `undefined` members of a dictionary are left out. */
export type BencodeInput =
  | string
  | number
  | Uint8Array
  | readonly BencodeInput[]
  | { readonly [key: string]: BencodeInput | undefined };

/** Nesting deeper than this is refused (rtpengine's replies nest about 8 deep). */
export const BENCODE_MAX_DEPTH = 32;

const I = 0x69; // i
const L = 0x6c; // l
const D = 0x64; // d
const E = 0x65; // e
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Thrown by {@link bencodeDecode} for bytes that are not one well-formed bencode value. */
export class BencodeSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`bencode: ${message} at byte ${offset}`);
    this.name = 'BencodeSyntaxError';
    this.offset = offset;
  }
}

/**
 * Encodes `value`. Dictionary keys are written in byte order as the bencode specification
 * requires (rtpengine accepts any order); strings are UTF-8; numbers must be safe integers.
 */
export function bencodeEncode(value: BencodeInput): Buffer {
  const chunks: Buffer[] = [];
  encodeInto(value, chunks, 0);
  return Buffer.concat(chunks);
}

function encodeInto(value: BencodeInput, out: Buffer[], depth: number): void {
  if (depth > BENCODE_MAX_DEPTH) throw new TypeError('bencode: nesting too deep');
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    out.push(Buffer.from(`${bytes.length}:`, 'latin1'), bytes);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`bencode: ${value} is not a safe integer`);
    out.push(Buffer.from(`i${value}e`, 'latin1'));
  } else if (value instanceof Uint8Array) {
    out.push(Buffer.from(`${value.length}:`, 'latin1'), Buffer.from(value.buffer, value.byteOffset, value.length));
  } else if (Array.isArray(value)) {
    out.push(Buffer.of(L));
    for (const item of value as readonly BencodeInput[]) encodeInto(item, out, depth + 1);
    out.push(Buffer.of(E));
  } else if (typeof value === 'object' && value !== null) {
    const dict = value as { readonly [key: string]: BencodeInput | undefined };
    const keys = Object.keys(dict)
      .filter((k) => dict[k] !== undefined)
      .map((k) => [k, Buffer.from(k, 'utf8')] as const)
      .sort((a, b) => Buffer.compare(a[1], b[1]));
    out.push(Buffer.of(D));
    for (const [key, bytes] of keys) {
      out.push(Buffer.from(`${bytes.length}:`, 'latin1'), bytes);
      encodeInto(dict[key] as BencodeInput, out, depth + 1);
    }
    out.push(Buffer.of(E));
  } else {
    throw new TypeError(`bencode: cannot encode ${typeof value}`);
  }
}

/**
 * Decodes exactly one bencode value spanning `bytes[start..end)`; trailing bytes are an error.
 * Dictionary keys may come in any order (rtpengine does not sort them); a repeated key is an
 * error. Throws {@link BencodeSyntaxError}.
 */
export function bencodeDecode(bytes: Uint8Array, start = 0, end = bytes.length): BencodeValue {
  const reader = { bytes, pos: start, end };
  const value = decodeValue(reader, 0);
  if (reader.pos !== end) throw new BencodeSyntaxError('trailing bytes', reader.pos);
  return value;
}

interface Reader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;
}

function decodeValue(r: Reader, depth: number): BencodeValue {
  if (r.pos >= r.end) throw new BencodeSyntaxError('unexpected end', r.pos);
  const c = r.bytes[r.pos] as number;
  if (c === I) {
    r.pos++;
    const n = readInteger(r, E);
    r.pos++; // the 'e'
    return n;
  }
  if (c >= ZERO && c <= NINE) return readString(r);
  if (depth >= BENCODE_MAX_DEPTH) throw new BencodeSyntaxError('nesting too deep', r.pos);
  if (c === L) {
    r.pos++;
    const list: BencodeValue[] = [];
    for (;;) {
      if (r.pos >= r.end) throw new BencodeSyntaxError('unterminated list', r.pos);
      if (r.bytes[r.pos] === E) {
        r.pos++;
        return list;
      }
      list.push(decodeValue(r, depth + 1));
    }
  }
  if (c === D) {
    r.pos++;
    const dict = Object.create(null) as BencodeDict;
    for (;;) {
      if (r.pos >= r.end) throw new BencodeSyntaxError('unterminated dictionary', r.pos);
      const k = r.bytes[r.pos] as number;
      if (k === E) {
        r.pos++;
        return dict;
      }
      if (k < ZERO || k > NINE) throw new BencodeSyntaxError('dictionary key is not a string', r.pos);
      const keyAt = r.pos;
      const key = readString(r);
      if (Object.hasOwn(dict, key)) throw new BencodeSyntaxError(`repeated key ${JSON.stringify(key)}`, keyAt);
      dict[key] = decodeValue(r, depth + 1);
    }
  }
  throw new BencodeSyntaxError(`unexpected byte 0x${c.toString(16)}`, r.pos);
}

/** `<digits>:<bytes>`; the length is checked against the bytes left before anything is read. */
function readString(r: Reader): string {
  const length = readInteger(r, COLON, true);
  const from = r.pos + 1;
  if (length > r.end - from) throw new BencodeSyntaxError(`string of ${length} bytes overruns the input`, r.pos);
  r.pos = from + length;
  return Buffer.from(r.bytes.buffer, r.bytes.byteOffset + from, length).toString('utf8');
}

/**
 * Reads an integer up to `terminator` (left at r.pos). Canonical only: no leading zeros, no `-0`,
 * no empty digits, at most 15 digits (safe integers).
 */
function readInteger(r: Reader, terminator: number, unsigned = false): number {
  const start = r.pos;
  let negative = false;
  if (!unsigned && r.pos < r.end && r.bytes[r.pos] === MINUS) {
    negative = true;
    r.pos++;
  }
  const digitsAt = r.pos;
  let n = 0;
  while (r.pos < r.end) {
    const c = r.bytes[r.pos] as number;
    if (c === terminator) break;
    if (c < ZERO || c > NINE) throw new BencodeSyntaxError('not a digit', r.pos);
    if (r.pos - digitsAt >= 15) throw new BencodeSyntaxError('number too long', start);
    n = n * 10 + (c - ZERO);
    r.pos++;
  }
  if (r.pos >= r.end) throw new BencodeSyntaxError('unterminated number', start);
  const digits = r.pos - digitsAt;
  if (digits === 0) throw new BencodeSyntaxError('empty number', start);
  if (digits > 1 && r.bytes[digitsAt] === ZERO) throw new BencodeSyntaxError('leading zero', start);
  if (negative && n === 0) throw new BencodeSyntaxError('negative zero', start);
  return negative ? -n : n;
}
