import { SipParseError } from './errors.js';
import { HeaderField } from './header-field.js';
import { canonicalHeaderName, isListHeader } from './header-names.js';
import { utf8 } from './bytes.js';
import { MAX_DELTA_SECONDS, digits, digitsFromBytes } from './digits.js';
import { type Contact, type NameAddr, isToken, parseContact, parseNameAddr } from './name-addr.js';
import { type Uri, parseUri } from './uri.js';
import { type Via, parseVia } from './via.js';

/** The CSeq header (RFC 3261 §20.16). */
export interface CSeq {
  seq: number;
  method: string;
}

/** A header field line as exposed to readers. */
export interface HeaderEntry {
  /** The name as written (compact forms stay compact). */
  name: string;
  value: string;
}

const UNSET: unique symbol = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

/**
 * What requests and responses share: the header table, lazy typed views of it, the body and the
 * edits a proxy makes. Nothing is decoded until asked for; edits are recorded per field so that
 * serializing copies every untouched line byte for byte.
 * @see RFC 3261 §7
 */
export abstract class SipMessageBase {
  /** @internal the buffer the message was parsed from */
  readonly buffer: Buffer;
  /** @internal offset of the start line in `buffer` */
  readonly start: number;
  /** @internal end of the start line (before its CRLF) */
  readonly startLineEnd: number;
  /** @internal header fields in order, created ones included */
  readonly fields: HeaderField[];
  /** @internal offset of the empty line that ends the headers */
  readonly headersEnd: number;
  /** @internal first body byte */
  readonly bodyStart: number;
  /** @internal end of the message (body end) */
  readonly end: number;
  /** SIP-Version as written, e.g. `SIP/2.0`. */
  readonly version: string;
  /** @internal Content-Length found by the parser, -1 when absent */
  readonly parsedContentLength: number;

  /** @internal */
  newBody: Buffer | undefined = undefined;
  /** @internal set by any edit */
  edited = false;

  #via: Lazy<Via[]> = UNSET;
  #topVia: Lazy<Via | undefined> = UNSET;
  #from: Lazy<NameAddr | undefined> = UNSET;
  #to: Lazy<NameAddr | undefined> = UNSET;
  #cseq: Lazy<CSeq | undefined> = UNSET;
  #contacts: Lazy<Contact[]> = UNSET;
  #routes: Lazy<NameAddr[]> = UNSET;
  #recordRoutes: Lazy<NameAddr[]> = UNSET;

  constructor(
    buffer: Buffer,
    start: number,
    startLineEnd: number,
    version: string,
    fields: HeaderField[],
    headersEnd: number,
    bodyStart: number,
    end: number,
    parsedContentLength: number,
  ) {
    this.buffer = buffer;
    this.parsedContentLength = parsedContentLength;
    this.start = start;
    this.startLineEnd = startLineEnd;
    this.version = version;
    this.fields = fields;
    this.headersEnd = headersEnd;
    this.bodyStart = bodyStart;
    this.end = end;
  }

  abstract readonly isRequest: boolean;

  /** True once any edit was made: serializing then rebuilds what changed. */
  get modified(): boolean {
    return this.edited;
  }

  /** The body (by Content-Length, or to the end of the datagram). */
  get body(): Uint8Array {
    return this.newBody ?? this.buffer.subarray(this.bodyStart, this.end);
  }

  /** Every header field line in order, names as written. */
  get headers(): ReadonlyArray<HeaderEntry> {
    const out: HeaderEntry[] = [];
    for (const f of this.fields) {
      if (f.removed) continue;
      out.push({ name: f.name(this.buffer), value: f.dirty ? (f.values ?? []).join(', ') : f.text(this.buffer) });
    }
    return out;
  }

  /** @internal first value by canonical key */
  firstValue(key: string, list: boolean): string | undefined {
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f.key !== key || f.removed) continue;
      if (!list) return f.dirty ? (f.values ?? [])[0] : f.text(this.buffer);
      const vs = f.list(this.buffer);
      if (vs.length > 0) return vs[0];
    }
    return undefined;
  }

  /** @internal every value by canonical key */
  allValues(key: string): string[] {
    const out: string[] = [];
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f.key !== key || f.removed) continue;
      const vs = f.list(this.buffer);
      for (let j = 0; j < vs.length; j++) out.push(vs[j] as string);
    }
    return out;
  }

  /**
   * The first value of a header: the first comma-separated element for list headers (Via,
   * Contact, Route, …), the whole field value otherwise. Names are case-insensitive and compact
   * forms are understood (`v` is `Via`).
   */
  getHeader(name: string): string | undefined {
    const key = canonicalHeaderName(name);
    return this.firstValue(key, isListHeader(key));
  }

  /** Every value of a header across all its field lines, list headers split at their commas. */
  getHeaders(name: string): string[] {
    return this.allValues(canonicalHeaderName(name));
  }

  hasHeader(name: string): boolean {
    const key = canonicalHeaderName(name);
    for (const f of this.fields) if (f.key === key && !f.removed) return true;
    return false;
  }

  /** How many field lines carry this header (duplicates matter for validation). */
  countHeaderFields(name: string): number {
    const key = canonicalHeaderName(name);
    let n = 0;
    for (const f of this.fields) if (f.key === key && !f.removed) n++;
    return n;
  }

  // ---- typed views (RFC 3261 §20), parsed on first use and cached until an edit ----

  /** Every Via value, topmost first. @see RFC 3261 §20.42 */
  get via(): Via[] {
    if (this.#via === UNSET) this.#via = this.allValues('via').map(parseVia);
    return this.#via;
  }

  /** The topmost Via only: what a proxy reads on every message. */
  get topVia(): Via | undefined {
    if (this.#topVia === UNSET) {
      const v = this.firstValue('via', true);
      this.#topVia = v === undefined ? undefined : parseVia(v);
    }
    return this.#topVia;
  }

  /** @see RFC 3261 §20.20 */
  get from(): NameAddr | undefined {
    if (this.#from === UNSET) {
      const v = this.firstValue('from', false);
      this.#from = v === undefined ? undefined : parseNameAddr(v);
    }
    return this.#from;
  }

  /** @see RFC 3261 §20.39 */
  get to(): NameAddr | undefined {
    if (this.#to === UNSET) {
      const v = this.firstValue('to', false);
      this.#to = v === undefined ? undefined : parseNameAddr(v);
    }
    return this.#to;
  }

  /** @see RFC 3261 §20.8 */
  get callId(): string | undefined {
    return this.firstValue('call-id', false);
  }

  /** @see RFC 3261 §20.16 */
  get cseq(): CSeq | undefined {
    if (this.#cseq === UNSET) {
      const f = this.#firstField('cseq');
      if (f === undefined) this.#cseq = undefined;
      else if (!f.dirty && !f.folded) this.#cseq = cseqFromBytes(this.buffer, f.valueStart, f.valueEnd);
      else this.#cseq = parseCSeq(f.text(this.buffer));
    }
    return this.#cseq;
  }

  #firstField(key: string): HeaderField | undefined {
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as HeaderField;
      if (f.key === key && !f.removed) return f;
    }
    return undefined;
  }

  /**
   * Max-Forwards = 1*DIGIT, an integer from 0 to 255 (RFC 3261 §20.22): leading zeros are legal
   * (`0000000070` is 70, RFC 4475 `wsinv` has `0068`). A value above 255 throws a 400
   * SipParseError, as {@link validateMessage} reports it: the two share this rule.
   * @see RFC 3261 §20.22
   */
  get maxForwards(): number | undefined {
    const f = this.#firstField('max-forwards');
    if (f === undefined) return undefined;
    // Read from the bytes when untouched: no string for a number.
    const n = !f.dirty && !f.folded ? digitsFromBytes(this.buffer, f.valueStart, f.valueEnd, 256) : digits(f.text(this.buffer), 256);
    if (n === -1) throw new SipParseError('bad Max-Forwards');
    if (n > 255) throw new SipParseError('Max-Forwards out of range 0..255');
    return n;
  }

  /**
   * The Expires header in seconds: delta-seconds (1*DIGIT, leading zeros legal); a value past
   * 2**32-1 counts as 2**32-1 (RFC 3261 §20.19). Throws a 400 SipParseError when it is not
   * delta-seconds (an RFC 2543 date, a sign, a fraction).
   * @see RFC 3261 §20.19
   */
  get expires(): number | undefined {
    const v = this.firstValue('expires', false);
    if (v === undefined) return undefined;
    const n = digits(v, MAX_DELTA_SECONDS);
    if (n === -1) throw new SipParseError('Expires is not delta-seconds');
    return n;
  }

  /** @see RFC 3261 §20.10 */
  get contacts(): Contact[] {
    if (this.#contacts === UNSET) this.#contacts = this.allValues('contact').map(parseContact);
    return this.#contacts;
  }

  /** @see RFC 3261 §20.34 */
  get routes(): NameAddr[] {
    if (this.#routes === UNSET) this.#routes = this.allValues('route').map(parseNameAddr);
    return this.#routes;
  }

  /** @see RFC 3261 §20.30 */
  get recordRoutes(): NameAddr[] {
    if (this.#recordRoutes === UNSET) this.#recordRoutes = this.allValues('record-route').map(parseNameAddr);
    return this.#recordRoutes;
  }

  /** @see RFC 3261 §20.14 */
  get contentLength(): number | undefined {
    if (!this.edited) return this.parsedContentLength === -1 ? undefined : this.parsedContentLength;
    const v = this.firstValue('content-length', false);
    if (v === undefined) return undefined;
    const n = digits(v, Number.MAX_SAFE_INTEGER);
    if (n === -1) throw new SipParseError('bad Content-Length');
    return n;
  }

  // ---- edits ----

  /**
   * An edit of header `key` (canonical name): only that header's typed view is parsed again. A
   * proxy edits Max-Forwards, Via, Record-Route and Route of every request it forwards, and
   * reads From, To, CSeq and the top Via between those edits: dropping every view on every edit
   * parsed each of them several times per message.
   * @internal
   */
  protected touch(key: string): void {
    this.edited = true;
    switch (key) {
      case 'via':
        this.#via = UNSET;
        this.#topVia = UNSET;
        break;
      case 'from':
        this.#from = UNSET;
        break;
      case 'to':
        this.#to = UNSET;
        break;
      case 'cseq':
        this.#cseq = UNSET;
        break;
      case 'contact':
        this.#contacts = UNSET;
        break;
      case 'route':
        this.#routes = UNSET;
        break;
      case 'record-route':
        this.#recordRoutes = UNSET;
        break;
      default:
        break;
    }
  }

  /** Inserts a header field above all others (a proxy's Via and Record-Route, RFC 3261 §16.6). */
  insertHeader(name: string, value: string): void {
    const key = canonicalHeaderName(name);
    this.fields.unshift(HeaderField.created(key, name, [value]));
    this.touch(key);
  }

  /** Appends a header field below all others. */
  appendHeader(name: string, value: string): void {
    const key = canonicalHeaderName(name);
    this.fields.push(HeaderField.created(key, name, [value]));
    this.touch(key);
  }

  #locate(name: string, index: number): { field: HeaderField; at: number; values: string[] } | undefined {
    const key = canonicalHeaderName(name);
    let seen = 0;
    for (const f of this.fields) {
      if (f.key !== key || f.removed) continue;
      const vs = f.list(this.buffer);
      if (index < seen + vs.length) return { field: f, at: index - seen, values: vs };
      seen += vs.length;
    }
    return undefined;
  }

  /** Removes one value of a list header, e.g. the top Route (index 0). False when there is none. */
  removeHeaderValue(name: string, index = 0): boolean {
    const hit = this.#locate(name, index);
    if (hit === undefined) return false;
    const { field, at, values } = hit;
    if (values.length === 1) field.removed = true;
    else {
      field.values = values.filter((_v, i) => i !== at);
      field.value = undefined;
      field.dirty = true;
    }
    this.touch(field.key);
    return true;
  }

  /** Replaces one value of a header (a rewritten Contact). Throws when there is no such value. */
  replaceHeaderValue(name: string, index: number, value: string): void {
    const hit = this.#locate(name, index);
    if (hit === undefined) throw new RangeError(`no value ${index} of header ${name}`);
    const values = hit.values.slice();
    values[hit.at] = value;
    hit.field.values = values;
    hit.field.value = undefined;
    hit.field.dirty = true;
    this.touch(hit.field.key);
  }

  /** Sets a single-valued header (Max-Forwards): the first field keeps its place, the others go. */
  setHeader(name: string, value: string): void {
    const key = canonicalHeaderName(name);
    let done = false;
    for (const f of this.fields) {
      if (f.key !== key || f.removed) continue;
      if (done) f.removed = true;
      else {
        f.values = [value];
        f.value = value;
        f.dirty = true;
        done = true;
      }
    }
    if (!done) this.fields.push(HeaderField.created(key, name, [value]));
    this.touch(key);
  }

  /** Removes every field of a header; returns how many field lines went. */
  removeHeader(name: string): number {
    const key = canonicalHeaderName(name);
    let n = 0;
    for (const f of this.fields) {
      if (f.key === key && !f.removed) {
        f.removed = true;
        n++;
      }
    }
    if (n > 0) this.touch(key);
    return n;
  }

  /** Replaces the body and keeps Content-Length (and, if given, Content-Type) right. */
  setBody(body: Uint8Array | string, contentType?: string): void {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.newBody = bytes;
    this.setHeader('Content-Length', String(bytes.length));
    if (contentType !== undefined) this.setHeader('Content-Type', contentType);
  }
}

/** A SIP request (RFC 3261 §7.1). */
export class SipRequest extends SipMessageBase {
  readonly isRequest = true as const;
  readonly method: string;
  #uriStart: number;
  #uriEnd: number;
  #uri: string | undefined = undefined;
  #uriEdited = false;
  #requestUri: Uri | undefined = undefined;

  constructor(
    method: string,
    uriStart: number,
    uriEnd: number,
    buffer: Buffer,
    start: number,
    startLineEnd: number,
    version: string,
    fields: HeaderField[],
    headersEnd: number,
    bodyStart: number,
    end: number,
    parsedContentLength: number,
  ) {
    super(buffer, start, startLineEnd, version, fields, headersEnd, bodyStart, end, parsedContentLength);
    this.method = method;
    this.#uriStart = uriStart;
    this.#uriEnd = uriEnd;
  }

  /** The Request-URI as text. Setting it replaces the Request-URI (RFC 3261 §16.5). */
  get uri(): string {
    this.#uri ??= utf8(this.buffer, this.#uriStart, this.#uriEnd);
    return this.#uri;
  }

  set uri(value: string) {
    if (/[\s<>]/.test(value) || value.length === 0) throw new SipParseError('Request-URI with whitespace or <>');
    this.#uri = value;
    this.#uriEdited = true;
    this.#requestUri = undefined;
    this.edited = true;
  }

  /** @internal */
  get startLineEdited(): boolean {
    return this.#uriEdited;
  }

  /** The Request-URI parsed (cached); throws SipParseError when malformed. */
  get requestUri(): Uri {
    this.#requestUri ??= parseUri(this.uri);
    return this.#requestUri;
  }
}

/** A SIP response (RFC 3261 §7.2). */
export class SipResponse extends SipMessageBase {
  readonly isRequest = false as const;
  readonly status: number;
  readonly reason: string;

  constructor(
    status: number,
    reason: string,
    buffer: Buffer,
    start: number,
    startLineEnd: number,
    version: string,
    fields: HeaderField[],
    headersEnd: number,
    bodyStart: number,
    end: number,
    parsedContentLength: number,
  ) {
    super(buffer, start, startLineEnd, version, fields, headersEnd, bodyStart, end, parsedContentLength);
    this.status = status;
    this.reason = reason;
  }
}

export type SipMessage = SipRequest | SipResponse;

export function isRequest(message: SipMessage): message is SipRequest {
  return message.isRequest;
}

export function isResponse(message: SipMessage): message is SipResponse {
  return !message.isRequest;
}

/**
 * Largest CSeq number: it "MUST be expressible as a 32-bit unsigned integer" (RFC 3261 §8.1.1.5).
 * The further "less than 2**31" binds a UAC's first request only; in a dialog the number grows
 * by one per request (§12.2.1.1), so a proxy passes anything up to 2**32-1.
 */
export const MAX_CSEQ = 2 ** 32 - 1;

// The usual methods as shared strings, so a CSeq read from bytes allocates nothing for them.
const CSEQ_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];

/** CSeq from the bytes of an untouched field; same rules as {@link parseCSeq}. */
function cseqFromBytes(buf: Buffer, start: number, end: number): CSeq {
  let i = start;
  let seq = 0;
  while (i < end) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) break;
    if (seq <= MAX_CSEQ) seq = seq * 10 + d;
    i++;
  }
  const b = buf[i];
  if (i === start || (b !== 0x20 && b !== 0x09)) return parseCSeq(buf.toString('latin1', start, end));
  if (seq > MAX_CSEQ) throw new SipParseError('CSeq number out of range');
  while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  const len = end - i;
  for (let m = 0; m < CSEQ_METHODS.length; m++) {
    const name = CSEQ_METHODS[m] as string;
    if (name.length !== len) continue;
    let k = 0;
    while (k < len && buf[i + k] === name.charCodeAt(k)) k++;
    if (k === len) return { seq, method: name };
  }
  return parseCSeq(buf.toString('utf8', start, end));
}

/** Parses a CSeq value: `4711 INVITE`. @see RFC 3261 §20.16 */
export function parseCSeq(text: string): CSeq {
  const n = text.length;
  let i = 0;
  while (i < n && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  const ds = i;
  let seq = 0;
  while (i < n) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    // 1*DIGIT: leading zeros are legal, so the length is not bounded, the value is.
    if (seq <= MAX_CSEQ) seq = seq * 10 + d;
    i++;
  }
  if (i === ds) throw new SipParseError('bad CSeq');
  if (seq > MAX_CSEQ) throw new SipParseError('CSeq number out of range');
  const ws = i;
  while (i < n && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  if (i === ws) throw new SipParseError('bad CSeq');
  let e = n;
  while (e > i && (text.charCodeAt(e - 1) === 0x20 || text.charCodeAt(e - 1) === 0x09)) e--;
  const method = text.slice(i, e);
  if (!isToken(method)) throw new SipParseError('bad CSeq method');
  return { seq, method };
}
