import { MAX_DELTA_SECONDS, digits } from './digits.js';
import { SipParseError } from './errors.js';
import { PARAM_POS, type Params, findParams, nameIs, scanParams, unquote } from './split.js';

/**
 * A `name-addr` or `addr-spec` with its header parameters, as in From, To, Contact, Route and
 * Record-Route (RFC 3261 §20.10, §25.1).
 */
export interface NameAddr {
  /** The value as written. */
  raw: string;
  /** Display name without quotes and escapes. */
  displayName?: string;
  /** The URI inside `<…>`, or the addr-spec. */
  uri: string;
  /** True when the URI was written inside `<…>`. */
  bracketed: boolean;
  /** Header parameters (after the URI), lower-case names; values keep their quotes. */
  params: Params;
  /** The `tag` parameter (From, To). */
  tag?: string;
}

/** A Contact value: a name-addr, or `*` (RFC 3261 §20.10). */
export interface Contact extends NameAddr {
  star: boolean;
  /** The `expires` parameter, when present and numeric. */
  expires?: number;
  /** The `q` parameter, when present and numeric. */
  q?: number;
}

function isTokenChar(c: number): boolean {
  // RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x21 ||
    c === 0x25 ||
    c === 0x2a ||
    c === 0x5f ||
    c === 0x2b ||
    c === 0x60 ||
    c === 0x27 ||
    c === 0x7e
  );
}

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function hasWs(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (isWs(text.charCodeAt(i))) return true;
  return false;
}

/**
 * Parses a name-addr (`"Alice" <sip:a@b>;tag=1`) or addr-spec (`sip:a@b;tag=1`). In the
 * addr-spec form everything after the first `;` is a header parameter (RFC 3261 §20.10).
 */
export function parseNameAddr(text: string): NameAddr {
  const n = text.length;
  let i = 0;
  while (i < n && isWs(text.charCodeAt(i))) i++;
  if (i >= n) throw new SipParseError('empty address');
  let displayName: string | undefined;
  let uriStart: number;
  let uriEnd: number;
  let rest: number;
  let bracketed = false;
  const c0 = text.charCodeAt(i);
  if (c0 === 0x22 /* " */) {
    let j = i + 1;
    let escaped = false;
    for (; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x5c) {
        j++;
        escaped = true;
      } else if (c === 0x22) break;
    }
    if (j >= n) throw new SipParseError('unterminated display name');
    displayName = escaped ? unquote(text.slice(i, j + 1)) : text.slice(i + 1, j);
    j++;
    while (j < n && isWs(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== 0x3c) throw new SipParseError('quoted display name without <URI>');
    uriStart = j + 1;
    uriEnd = text.indexOf('>', uriStart);
    if (uriEnd === -1) throw new SipParseError('unterminated <URI>');
    rest = uriEnd + 1;
    bracketed = true;
  } else {
    // A `<` opens the URI only after an unquoted display name (tokens and LWS): one further on
    // belongs to a quoted parameter value of an addr-spec (`tel:1;a="<"`).
    let lt = c0 === 0x3c ? i : -1;
    if (lt === -1) {
      let j = i;
      while (j < n && (isTokenChar(text.charCodeAt(j)) || isWs(text.charCodeAt(j)))) j++;
      if (j < n && text.charCodeAt(j) === 0x3c) lt = j;
    }
    if (lt !== -1) {
      uriStart = lt + 1;
      uriEnd = text.indexOf('>', uriStart);
      if (uriEnd === -1) throw new SipParseError('unterminated <URI>');
      if (lt > i) {
        // An unquoted display name is a sequence of tokens separated by whitespace.
        let e = lt;
        while (e > i && isWs(text.charCodeAt(e - 1))) e--;
        for (let j = i; j < e; j++) {
          const c = text.charCodeAt(j);
          if (!isTokenChar(c) && c !== 0x20 && c !== 0x09) throw new SipParseError('bad display name');
        }
        if (e > i) displayName = text.slice(i, e);
      }
      rest = uriEnd + 1;
      bracketed = true;
    } else {
      uriStart = i;
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 0x3b || isWs(c)) break;
        // RFC 3261 §20.10: a URI with a comma or question mark must be in a name-addr.
        if (c === 0x2c || c === 0x3f) throw new SipParseError('addr-spec with a character that needs <>');
        j++;
      }
      uriEnd = j;
      rest = j;
    }
  }
  while (uriStart < uriEnd && isWs(text.charCodeAt(uriStart))) uriStart++;
  while (uriEnd > uriStart && isWs(text.charCodeAt(uriEnd - 1))) uriEnd--;
  if (uriEnd === uriStart || hasWs(text, uriStart, uriEnd)) throw new SipParseError('bad URI in address');
  const count = findParams(text, rest);
  if (count === -1) throw new SipParseError('junk after address');
  const na = new ParsedNameAddr(text, displayName, text.slice(uriStart, uriEnd), bracketed, rest);
  for (let p = 0; p < count; p++) {
    const ns = PARAM_POS[p * 4] as number;
    const ne = PARAM_POS[p * 4 + 1] as number;
    const vs = PARAM_POS[p * 4 + 2] as number;
    if (vs === -1) continue;
    const ve = PARAM_POS[p * 4 + 3] as number;
    if (ne - ns === 3 && na.tag === undefined && nameIs(text, ns, ne, 'tag')) na.tag = text.slice(vs, ve);
    else if (ne - ns === 7 && na.expiresText === undefined && nameIs(text, ns, ne, 'expires')) na.expiresText = text.slice(vs, ve);
    else if (ne - ns === 1 && na.qText === undefined && nameIs(text, ns, ne, 'q')) na.qText = text.slice(vs, ve);
  }
  return na;
}

/** A parsed name-addr: tag (and Contact's expires and q) are read at once; the parameter record on first use. */
class ParsedNameAddr implements Contact {
  raw: string;
  displayName: string | undefined;
  uri: string;
  bracketed: boolean;
  tag: string | undefined = undefined;
  star = false;
  expires: number | undefined = undefined;
  q: number | undefined = undefined;
  /** @internal */
  expiresText: string | undefined = undefined;
  /** @internal */
  qText: string | undefined = undefined;
  #paramsFrom: number;
  #params: Params | undefined = undefined;

  constructor(raw: string, displayName: string | undefined, uri: string, bracketed: boolean, paramsFrom: number) {
    this.raw = raw;
    this.displayName = displayName;
    this.uri = uri;
    this.bracketed = bracketed;
    this.#paramsFrom = paramsFrom;
  }

  get params(): Params {
    this.#params ??= scanParams(this.raw, this.#paramsFrom, {}) ?? {};
    return this.#params;
  }

  set params(value: Params) {
    this.#params = value;
  }
}

/** Parses one Contact value, `*` included. */
export function parseContact(text: string): Contact {
  if (text === '*' || (text.length < 8 && text.trim() === '*')) return { raw: text, displayName: undefined, uri: '*', bracketed: false, params: {} as Params, tag: undefined, star: true, expires: undefined, q: undefined };
  const na = parseNameAddr(text) as ParsedNameAddr;
  const e = na.expiresText;
  if (e !== undefined) {
    // delta-seconds: any number of digits; a value past 2**32-1 counts as 2**32-1 (RFC 3261 §20.10, §20.19).
    const n = digits(e, MAX_DELTA_SECONDS);
    if (n === -1) throw new SipParseError('bad expires parameter in Contact');
    na.expires = n;
  }
  const q = na.qText;
  if (q !== undefined) {
    const v = qValue(q);
    if (v === -1) throw new SipParseError('bad q parameter in Contact');
    na.q = v;
  }
  return na;
}

/** RFC 3261 §25.1 qvalue: `0[.ddd]` or `1[.000]`; -1 when malformed. */
function qValue(text: string): number {
  const n = text.length;
  const c0 = text.charCodeAt(0);
  if (n === 0 || n > 5 || (c0 !== 0x30 && c0 !== 0x31)) return -1;
  if (n === 1) return c0 - 0x30;
  if (text.charCodeAt(1) !== 0x2e) return -1;
  let frac = 0;
  let scale = 1;
  for (let i = 2; i < n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9 || (c0 === 0x31 && d !== 0)) return -1;
    frac = frac * 10 + d;
    scale *= 10;
  }
  return c0 - 0x30 + frac / scale;
}

/** Formats a name-addr: `"Display" <uri>;params`. */
export function formatNameAddr(na: Pick<NameAddr, 'uri' | 'params'> & { displayName?: string }): string {
  let s = '';
  if (na.displayName !== undefined && na.displayName.length > 0) s += `"${na.displayName.replace(/(["\\])/g, '\\$1')}" `;
  s += `<${na.uri}>`;
  for (const k in na.params) {
    const v = na.params[k];
    s += v === null || v === undefined ? `;${k}` : `;${k}=${v}`;
  }
  return s;
}
