import { SipParseError } from './errors.js';
import { type Params, parseParams, unquote } from './split.js';

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

/**
 * Parses a name-addr (`"Alice" <sip:a@b>;tag=1`) or addr-spec (`sip:a@b;tag=1`). In the
 * addr-spec form everything after the first `;` is a header parameter (RFC 3261 §20.10).
 */
export function parseNameAddr(text: string): NameAddr {
  const raw = text;
  const s = text.trim();
  if (s.length === 0) throw new SipParseError('empty address');
  let displayName: string | undefined;
  let uri: string;
  let rest: string;
  let bracketed = false;
  if (s.charCodeAt(0) === 0x22 /* " */) {
    let i = 1;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x22) break;
    }
    if (i >= s.length) throw new SipParseError('unterminated display name');
    displayName = unquote(s.slice(0, i + 1));
    const after = s.slice(i + 1).trimStart();
    if (after.charCodeAt(0) !== 0x3c) throw new SipParseError('quoted display name without <URI>');
    const close = after.indexOf('>');
    if (close === -1) throw new SipParseError('unterminated <URI>');
    uri = after.slice(1, close);
    rest = after.slice(close + 1);
    bracketed = true;
  } else {
    const lt = s.indexOf('<');
    if (lt !== -1) {
      const close = s.indexOf('>', lt);
      if (close === -1) throw new SipParseError('unterminated <URI>');
      const dn = s.slice(0, lt).trim();
      if (dn.length > 0) {
        // An unquoted display name is a sequence of tokens separated by whitespace.
        for (const word of dn.split(/[ \t]+/)) if (!isToken(word)) throw new SipParseError('bad display name');
        displayName = dn;
      }
      uri = s.slice(lt + 1, close);
      rest = s.slice(close + 1);
      bracketed = true;
    } else {
      const semi = s.indexOf(';');
      uri = semi === -1 ? s : s.slice(0, semi);
      rest = semi === -1 ? '' : s.slice(semi);
      if (/[\s,?]/.test(uri.trim())) throw new SipParseError('addr-spec with a character that needs <>');
      uri = uri.trim();
    }
  }
  uri = uri.trim();
  if (uri.length === 0 || /\s/.test(uri)) throw new SipParseError('bad URI in address');
  rest = rest.trim();
  if (rest.length > 0 && rest.charCodeAt(0) !== 0x3b) throw new SipParseError('junk after address');
  const params = parseParams(rest.length > 0 ? rest.slice(1) : '');
  const na: NameAddr = { raw, uri, bracketed, params };
  if (displayName !== undefined) na.displayName = displayName;
  const tag = params.tag;
  if (typeof tag === 'string') na.tag = tag;
  return na;
}

/** Parses one Contact value, `*` included. */
export function parseContact(text: string): Contact {
  const s = text.trim();
  if (s === '*') return { raw: text, uri: '*', bracketed: false, params: Object.create(null) as Params, star: true };
  const na = parseNameAddr(text) as Contact;
  na.star = false;
  const e = na.params.expires;
  if (typeof e === 'string') {
    if (!/^\d+$/.test(e)) throw new SipParseError('bad expires parameter in Contact');
    na.expires = Math.min(Number(e), 2 ** 32 - 1);
  }
  const q = na.params.q;
  if (typeof q === 'string') {
    if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q)) throw new SipParseError('bad q parameter in Contact');
    na.q = Number(q);
  }
  return na;
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
