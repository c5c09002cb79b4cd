import { isAscii } from 'node:buffer';
import { SipParseError } from './errors.js';
import { HeaderField } from './header-field.js';
import { latin1, utf8 } from './bytes.js';
import { KNOWN_HEADER_KEYS, canonicalHeaderName } from './header-names.js';
import { type SipMessage, SipRequest, SipResponse } from './message.js';

/** Limits that bound what hostile input may cost. */
export interface ParseOptions {
  /** Largest message accepted, in bytes (default 65535, a UDP datagram). Larger: status 513. */
  maxMessageSize?: number | undefined;
  /** Most header field lines accepted (default 256). */
  maxHeaders?: number | undefined;
  /** Longest start or header line accepted, in bytes (default 8192). */
  maxLineLength?: number | undefined;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 65535;
export const DEFAULT_MAX_HEADERS = 256;
export const DEFAULT_MAX_LINE_LENGTH = 8192;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

// RFC 3261 §25.1 token characters, as a byte table.
const TOKEN = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") TOKEN[c.charCodeAt(0)] = 1;

const COMPACT_KEYS: (string | undefined)[] = [];
for (const c of 'abcdefijklmnorstuvxy') {
  COMPACT_KEYS[c.charCodeAt(0)] = canonicalHeaderName(c);
  COMPACT_KEYS[c.toUpperCase().charCodeAt(0)] = canonicalHeaderName(c);
}

function toBuffer(input: Uint8Array | string): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (Buffer.isBuffer(input)) return input;
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

// Known header names by (length, first letter), so the usual names are recognised from the
// bytes without building a string.
const KEY_TABLE: (string[] | undefined)[] = [];
for (const key of KNOWN_HEADER_KEYS) {
  if (key.length > 31) continue;
  const slot = (key.length << 8) | key.charCodeAt(0);
  (KEY_TABLE[slot] ??= []).push(key);
}

function headerKey(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len === 1) {
    const k = COMPACT_KEYS[buf[start] as number];
    if (k !== undefined) return k;
  } else if (len < 32) {
    // Token bytes OR 0x20 fold upper- to lower-case letters and leave '-' and digits alone.
    const cands = KEY_TABLE[(len << 8) | (buf[start]! | 0x20)];
    if (cands !== undefined) {
      for (let c = 0; c < cands.length; c++) {
        const key = cands[c] as string;
        let i = 1;
        while (i < len && (buf[start + i]! | 0x20) === key.charCodeAt(i)) i++;
        if (i === len) return key;
      }
    }
  }
  return canonicalHeaderName(latin1(buf, start, end));
}

const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];

function methodName(buf: Buffer, start: number, end: number): string {
  // Methods are case-sensitive (RFC 3261 §7.1): only exact spellings are shared constants.
  const len = end - start;
  for (let m = 0; m < METHODS.length; m++) {
    const name = METHODS[m] as string;
    if (name.length !== len) continue;
    let i = 0;
    while (i < len && buf[start + i] === name.charCodeAt(i)) i++;
    if (i === len) return name;
  }
  return latin1(buf, start, end);
}

function versionText(buf: Buffer, start: number, end: number): string {
  if (end - start === 7 && buf[start] === 0x53 && buf[start + 1] === 0x49 && buf[start + 2] === 0x50 && buf[start + 4] === 0x32 && buf[start + 5] === 0x2e && buf[start + 6] === 0x30) {
    return 'SIP/2.0';
  }
  return latin1(buf, start, end);
}

function isSipVersion(buf: Buffer, start: number, end: number): boolean {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive (RFC 3261 §7.1, §25.1)
  if (end - start < 7) return false;
  if ((buf[start]! | 0x20) !== 0x73 || (buf[start + 1]! | 0x20) !== 0x69 || (buf[start + 2]! | 0x20) !== 0x70) return false;
  if (buf[start + 3] !== 0x2f) return false;
  let i = start + 4;
  let digits = 0;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    i++;
    digits++;
  }
  if (digits === 0 || buf[i] !== 0x2e) return false;
  i++;
  digits = 0;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    i++;
    digits++;
  }
  return digits > 0 && i === end;
}

/**
 * Parses one SIP message from a datagram or from a frame the {@link StreamFramer} cut.
 *
 * Datagram rules (RFC 3261 §18.3): without Content-Length the body runs to the end; octets past
 * Content-Length are discarded (RFC 4475 `dblreq`); a Content-Length beyond the end is an error.
 * Leading CRLFs are skipped (RFC 3261 §7.5). Only header boundaries are found here: values are
 * decoded when first read.
 *
 * @throws SipParseError (and nothing else) with the status an element would answer.
 * @see RFC 3261 §7, §18.3, §25
 */
export function parseMessage(input: Uint8Array | string, options?: ParseOptions): SipMessage {
  const buf = toBuffer(input);
  const maxSize = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const maxHeaders = options?.maxHeaders ?? DEFAULT_MAX_HEADERS;
  const maxLine = options?.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const len = buf.length;
  if (len > maxSize) throw new SipParseError(`message larger than ${maxSize} bytes`, 513, 'SIP_MESSAGE_TOO_LARGE');

  let pos = 0;
  while (pos < len && (buf[pos] === CR || buf[pos] === LF)) pos++;
  if (pos >= len) throw new SipParseError('empty packet');
  const start = pos;

  // ---- start line ----
  let lf = pos;
  let sp1 = -1;
  let sp2 = -1;
  let spaces = 0;
  while (lf < len && buf[lf] !== LF) {
    if (buf[lf] === SP) {
      spaces++;
      if (sp1 === -1) sp1 = lf;
      else if (sp2 === -1) sp2 = lf;
    }
    lf++;
  }
  if (lf >= len) throw new SipParseError('no end of start line');
  // Line lengths count the line's own octets, not its CR LF (or bare LF) end.
  if (lf - pos - (buf[lf - 1] === CR ? 1 : 0) > maxLine) throw new SipParseError('start line too long');
  const startLineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
  const isResponse =
    startLineEnd - pos > 4 &&
    (buf[pos]! | 0x20) === 0x73 &&
    (buf[pos + 1]! | 0x20) === 0x69 &&
    (buf[pos + 2]! | 0x20) === 0x70 &&
    buf[pos + 3] === 0x2f;

  let method = '';
  let version: string;
  let status = 0;
  let reason = '';
  if (isResponse) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    if (sp1 === -1) throw new SipParseError('bad status line');
    if (!isSipVersion(buf, pos, sp1)) throw new SipParseError('bad SIP version in status line');
    version = versionText(buf, pos, sp1);
    const c0 = buf[sp1 + 1]! - 0x30;
    const c1 = buf[sp1 + 2]! - 0x30;
    const c2 = buf[sp1 + 3]! - 0x30;
    if (!(c0 >= 1 && c0 <= 6 && c1 >= 0 && c1 <= 9 && c2 >= 0 && c2 <= 9)) throw new SipParseError('bad status code');
    status = c0 * 100 + c1 * 10 + c2;
    const after = sp1 + 4;
    if (after < startLineEnd) {
      if (buf[after] !== SP) throw new SipParseError('bad status code');
      reason = utf8(buf, after + 1, startLineEnd);
    }
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF, exactly two single spaces
    // (RFC 4475 `lwsstart`, `lwsruri`, `trws` must be refused).
    if (spaces !== 2 || sp2 === -1) throw new SipParseError('bad request line');
    if (sp1 === pos || sp2 === sp1 + 1 || sp2 + 1 >= startLineEnd) throw new SipParseError('bad request line');
    for (let i = pos; i < sp1; i++) if (TOKEN[buf[i]!] !== 1) throw new SipParseError('bad method');
    for (let i = sp1 + 1; i < sp2; i++) {
      const c = buf[i]!;
      if (c <= SP || c === 0x7f) throw new SipParseError('bad Request-URI');
    }
    if (!isSipVersion(buf, sp2 + 1, startLineEnd)) throw new SipParseError('bad SIP version in request line');
    method = methodName(buf, pos, sp1);
    version = versionText(buf, sp2 + 1, startLineEnd);
  }
  pos = lf + 1;

  // ---- header fields ----
  const fields: HeaderField[] = [];
  let current: HeaderField | undefined;
  let headersEnd = -1;
  let bodyStart = -1;
  let contentLength = -1;
  while (pos < len) {
    const c = buf[pos];
    if (c === LF) {
      headersEnd = pos;
      bodyStart = pos + 1;
      break;
    }
    if (c === CR && buf[pos + 1] === LF) {
      headersEnd = pos;
      bodyStart = pos + 2;
      break;
    }
    const lineStart = pos;
    if (c === SP || c === HT) {
      // A continuation line: the field above goes on (RFC 3261 §7.3.1).
      if (current === undefined) throw new SipParseError('continuation line without header');
      const e = buf.indexOf(LF, pos);
      if (e === -1) throw new SipParseError('no end of headers');
      if (e - lineStart - (buf[e - 1] === CR ? 1 : 0) > maxLine) throw new SipParseError('header line too long');
      let ve = e;
      while (ve > lineStart && (buf[ve - 1] === CR || buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
      if (ve > lineStart) {
        if (current.valueStart === current.valueEnd) {
          // The value starts on the continuation line.
          let vs = lineStart;
          while (buf[vs] === SP || buf[vs] === HT) vs++;
          current.valueStart = vs;
        } else current.folded = true;
        current.valueEnd = ve;
      }
      current.lineEnd = e + 1;
      pos = e + 1;
      continue;
    }
    // The line end by memchr; the colon by a short scan from the line start.
    let e = buf.indexOf(LF, pos);
    if (e === -1) throw new SipParseError('no end of headers');
    if (e - lineStart - (buf[e - 1] === CR ? 1 : 0) > maxLine) throw new SipParseError('header line too long');
    // The name (token characters), optional whitespace, then the colon: one scan checks all.
    let colon = pos;
    let b = buf[colon] as number;
    while (TOKEN[b] === 1) b = buf[++colon] as number;
    const nameEnd = colon;
    while (b === SP || b === HT) b = buf[++colon] as number;
    if (b !== COLON) {
      if (colon >= e - 1) throw new SipParseError('header line without colon');
      throw new SipParseError(nameEnd === lineStart ? 'empty header name' : 'bad header name');
    }
    if (nameEnd === lineStart) throw new SipParseError('empty header name');
    let vs = colon + 1;
    while (vs < e && (buf[vs] === SP || buf[vs] === HT)) vs++;
    let ve = e;
    while (ve > vs && (buf[ve - 1] === CR || buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
    const key = headerKey(buf, lineStart, nameEnd);
    current = new HeaderField(key, lineStart, nameEnd, vs, ve, e + 1);
    if (fields.length >= maxHeaders) throw new SipParseError(`more than ${maxHeaders} header fields`);
    fields.push(current);
    pos = e + 1;
  }
  if (headersEnd === -1) throw new SipParseError('no end of headers');
  // Pure ASCII headers (the usual case) decode as latin1, which skips UTF-8 validation.
  if (isAscii(new Uint8Array(buf.buffer, buf.byteOffset + start, headersEnd - start))) for (let i = 0; i < fields.length; i++) (fields[i] as HeaderField).ascii = true;

  for (const f of fields) {
    if (f.key !== 'content-length') continue;
    let n = 0;
    if (f.valueEnd === f.valueStart || f.folded) throw new SipParseError('bad Content-Length');
    for (let i = f.valueStart; i < f.valueEnd; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) throw new SipParseError('bad Content-Length');
      n = n * 10 + d;
      if (n > maxSize) throw new SipParseError('Content-Length larger than the message', 400);
    }
    if (contentLength !== -1 && contentLength !== n) throw new SipParseError('conflicting Content-Length');
    contentLength = n;
  }
  let end = len;
  if (contentLength !== -1) {
    if (bodyStart + contentLength > len) throw new SipParseError('Content-Length larger than the message');
    end = bodyStart + contentLength;
  }
  return isResponse
    ? new SipResponse(status, reason, buf, start, startLineEnd, version, fields, headersEnd, bodyStart, end, contentLength)
    : new SipRequest(method, sp1 + 1, sp2, buf, start, startLineEnd, version, fields, headersEnd, bodyStart, end, contentLength);
}
