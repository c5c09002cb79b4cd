import { defaultPort } from './host.js';
import { SipParseError } from './errors.js';
import { unescapeText } from './escape.js';
import type { Params } from './split.js';
import { digits } from './digits.js';

/** A `sip:` or `sips:` URI (RFC 3261 §19.1). `user`, `password` and parameter values are %-decoded. */
export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  /** IPv6 references without their brackets. */
  host: string;
  hostType: 'ipv4' | 'ipv6' | 'hostname';
  port?: number;
  /** URI parameters, lower-case names (`transport`, `lr`, `maddr`, `user`, …). */
  params: Params;
  /** `?name=value&…` headers, %-decoded. */
  headers: Record<string, string>;
  /** The text this was parsed from. */
  raw: string;
}

/** A `tel:` URI (RFC 3966). */
export interface TelUri {
  scheme: 'tel';
  number: string;
  params: Params;
  raw: string;
}

/** Any other absolute URI (RFC 3261 §25.1 `absoluteURI`): kept as text. */
export interface AbsoluteUri {
  scheme: string;
  raw: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

/** A SIP or SIPS URI from its text, or undefined (tel:, another scheme, malformed): never throws. */
export function parseSipUri(text: string): SipUri | undefined {
  try {
    const uri = parseUri(text);
    return isSipUri(uri) ? uri : undefined;
  } catch {
    return undefined;
  }
}

export function isTelUri(uri: Uri): uri is TelUri {
  return uri.scheme === 'tel';
}

// Loose IPv6 check: hex groups, colons, an optional embedded IPv4 tail; node:net decides the rest.
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

export function isIPv4(text: string): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let octet = 0;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (len === 0 || ++dots > 3) return false;
      octet = 0;
      len = 0;
    } else {
      const d = c - 0x30;
      if (d < 0 || d > 9) return false;
      // No leading zeros: 010 is not an IPv4 octet in RFC 3986 dec-octet.
      if (len === 1 && octet === 0) return false;
      octet = octet * 10 + d;
      if (++len > 3 || octet > 255) return false;
    }
  }
  return dots === 3 && len > 0;
}

export function isIPv6(text: string): boolean {
  if (!IPV6.test(text) || !text.includes(':')) return false;
  const double = text.indexOf('::');
  if (double !== -1 && text.indexOf('::', double + 1) !== -1) return false;
  const groups = text.split(':');
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (g.length === 0) continue;
    if (g.includes('.')) {
      if (i !== groups.length - 1 || !isIPv4(g)) return false;
      count += 2;
    } else {
      if (g.length > 4) return false;
      count++;
    }
  }
  return double === -1 ? count === 8 : count < 8;
}

function isHostChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x25
  );
}

function hostnameOk(host: string): boolean {
  // RFC 3261 §25.1 hostname, plus '_' which real deployments use; '%' is accepted because
  // Net::SIP routes on opaque hosts when a maddr says where to go (its test 13_maddr_proxy).
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x5f ||
      c === 0x25;
    if (!ok) return false;
  }
  return host.length > 0;
}

/** Parses `host[:port]` or `[v6][:port]` as found in URIs and Via sent-by. */
export function parseHostPort(text: string, what: string): { host: string; hostType: SipUri['hostType']; port: number | undefined } {
  let host: string;
  let rest: string;
  let hostType: SipUri['hostType'];
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close === -1) throw new SipParseError(`unterminated IPv6 reference in ${what}`);
    host = text.slice(1, close);
    // RFC 3261's IPv6address (hexpart ":" IPv4address) admits "2001:db8:::192.0.2.1"; RFC 5118
    // §4.10 says to tolerate it, so it is read as the RFC 4291 "2001:db8::192.0.2.1".
    if (!isIPv6(host) && !isIPv6(host.replace(/:::(?=\d+\.\d+\.\d+\.\d+$)/, '::'))) {
      throw new SipParseError(`bad IPv6 reference in ${what}`);
    }
    hostType = 'ipv6';
    rest = text.slice(close + 1);
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    rest = colon === -1 ? '' : text.slice(colon);
    const c0 = host.charCodeAt(0);
    if (c0 >= 0x30 && c0 <= 0x39 && isIPv4(host)) hostType = 'ipv4';
    else if (hostnameOk(host)) hostType = 'hostname';
    else throw new SipParseError(`bad host in ${what}`);
  }
  if (rest.length === 0) return { host, hostType, port: undefined };
  if (rest.charCodeAt(0) !== 0x3a /* : */) throw new SipParseError(`bad host in ${what}`);
  const port = digits(rest.slice(1), 65536);
  if (port === -1) throw new SipParseError(`bad port in ${what}`);
  if (port > 65535) throw new SipParseError(`port out of range in ${what}`);
  return { host, hostType, port };
}

function parseUriParams(text: string, what: string): Params {
  const params: Params = {};
  const n = text.length;
  let i = 0;
  while (i < n) {
    let e = text.indexOf(';', i);
    if (e === -1) e = n;
    if (e > i) {
      const eq = text.indexOf('=', i);
      let name: string;
      let value: string | null = null;
      if (eq === -1 || eq > e) name = text.slice(i, e);
      else {
        name = text.slice(i, eq);
        value = unescapeText(text.slice(eq + 1, e), what);
      }
      name = unescapeText(name, what).toLowerCase();
      if (name !== '__proto__') params[name] = value;
    }
    i = e + 1;
  }
  return params;
}

function checkNoWhitespace(text: string, what: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      throw new SipParseError(`illegal character in ${what}`);
    }
  }
}

/**
 * Parses a URI as found in a Request-URI or inside `<…>`.
 * @see RFC 3261 §19.1.1, §25.1; RFC 3966 (tel); RFC 5118 (IPv6 references)
 */
export function parseUri(text: string): Uri {
  const what = 'URI';
  let scheme: string;
  let colon: number;
  // sip: and sips: first, without building a scheme string.
  if (text.startsWith('sip:')) {
    scheme = 'sip';
    colon = 3;
  } else if (text.startsWith('sips:')) {
    scheme = 'sips';
    colon = 4;
  } else {
    colon = text.indexOf(':');
    if (colon <= 0) throw new SipParseError('URI without scheme');
    const schemeText = text.slice(0, colon);
    if (!SCHEME.test(schemeText)) throw new SipParseError('bad URI scheme');
    scheme = schemeText.toLowerCase();
  }
  checkNoWhitespace(text, what);
  const rest = text.slice(colon + 1);
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const number = semi === -1 ? rest : rest.slice(0, semi);
    if (number.length === 0) throw new SipParseError('empty tel number');
    return { scheme: 'tel', number, params: parseUriParams(semi === -1 ? '' : rest.slice(semi + 1), what), raw: text };
  }
  if (scheme !== 'sip' && scheme !== 'sips') return { scheme, raw: text };

  // The user part may hold ';', '?' and '/' (RFC 3261 §25.1 user-unreserved), but never an
  // unescaped '@', and neither may host, params or headers: the last '@' ends the userinfo.
  const at = rest.lastIndexOf('@');
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = 0;
  if (at !== -1) {
    const pc = rest.indexOf(':');
    if (pc !== -1 && pc < at) {
      user = unescapeText(rest.slice(0, pc), what);
      password = unescapeText(rest.slice(pc + 1, at), what);
    } else user = unescapeText(rest.slice(0, at), what);
    if (user.length === 0) throw new SipParseError('empty user part in URI');
    hostStart = at + 1;
  }
  let end = hostStart;
  const n = rest.length;
  while (end < n) {
    const c = rest.charCodeAt(end);
    if (c === 0x3b || c === 0x3f) break;
    end++;
  }
  let host: string;
  let hostType: SipUri['hostType'];
  let port: number | undefined;
  if (rest.charCodeAt(hostStart) === 0x5b /* [ */) {
    const hp = parseHostPort(rest.slice(hostStart, end), what);
    host = hp.host;
    hostType = hp.hostType;
    port = hp.port;
  } else {
    // host[:port] read in place, the common case.
    let h = hostStart;
    let numeric = true;
    for (; h < end; h++) {
      const c = rest.charCodeAt(h);
      if (c === 0x3a) break;
      if (!isHostChar(c)) throw new SipParseError(`bad host in ${what}`);
      if (numeric && c !== 0x2e && (c < 0x30 || c > 0x39)) numeric = false;
    }
    if (h === hostStart) throw new SipParseError(`bad host in ${what}`);
    host = rest.slice(hostStart, h);
    hostType = numeric && isIPv4(host) ? 'ipv4' : 'hostname';
    if (h < end) {
      let v = 0;
      let d = h + 1;
      // port = 1*DIGIT: leading zeros are legal, so the length is not bounded, the value is.
      if (d === end) throw new SipParseError(`bad port in ${what}`);
      for (; d < end; d++) {
        const c = rest.charCodeAt(d) - 0x30;
        if (c < 0 || c > 9) throw new SipParseError(`bad port in ${what}`);
        if (v <= 65535) v = v * 10 + c;
      }
      if (v > 65535) throw new SipParseError(`port out of range in ${what}`);
      port = v;
    }
  }
  const uri = new ParsedSipUri(scheme as 'sip' | 'sips', user, password, host, hostType, port, text, end < n ? rest.slice(end) : '');
  // Parameters and headers are parsed on first use, but a malformed escape must still fail here.
  if (end < n && rest.indexOf('%', end) !== -1) uri.check();
  return uri;
}

/** A parsed SIP URI: user, host and port at once; parameters and headers on first use. */
class ParsedSipUri implements SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  password: string | undefined;
  host: string;
  hostType: SipUri['hostType'];
  port: number | undefined;
  raw: string;
  #tail: string;
  #params: Params | undefined = undefined;
  #headers: Record<string, string> | undefined = undefined;

  constructor(
    scheme: 'sip' | 'sips',
    user: string | undefined,
    password: string | undefined,
    host: string,
    hostType: SipUri['hostType'],
    port: number | undefined,
    raw: string,
    tail: string,
  ) {
    this.scheme = scheme;
    this.user = user;
    this.password = password;
    this.host = host;
    this.hostType = hostType;
    this.port = port;
    this.raw = raw;
    this.#tail = tail;
  }

  get params(): Params {
    if (this.#params === undefined) {
      const t = this.#tail;
      if (t.length === 0 || t.charCodeAt(0) !== 0x3b) this.#params = {};
      else {
        const q = t.indexOf('?');
        this.#params = parseUriParams(q === -1 ? t.slice(1) : t.slice(1, q), 'URI');
      }
    }
    return this.#params;
  }

  set params(value: Params) {
    this.#params = value;
  }

  get headers(): Record<string, string> {
    if (this.#headers === undefined) {
      const headers: Record<string, string> = {};
      const q = this.#tail.indexOf('?');
      if (q !== -1) {
        for (const piece of this.#tail.slice(q + 1).split('&')) {
          const eq = piece.indexOf('=');
          if (eq <= 0) throw new SipParseError('bad URI header');
          const name = unescapeText(piece.slice(0, eq), 'URI');
          if (name !== '__proto__') headers[name] = unescapeText(piece.slice(eq + 1), 'URI');
        }
      }
      this.#headers = headers;
    }
    return this.#headers;
  }

  set headers(value: Record<string, string>) {
    this.#headers = value;
  }

  /** Parses parameters and headers now, so that a malformed one throws here. */
  check(): void {
    if (this.params === undefined || this.headers === undefined) throw new SipParseError('bad URI');
  }

  toJSON(): Record<string, unknown> {
    return { scheme: this.scheme, user: this.user, password: this.password, host: this.host, hostType: this.hostType, port: this.port, params: this.params, headers: this.headers, raw: this.raw };
  }
}

// Characters left as they are in the user part when formatting (RFC 3261 §25.1 user).
const USER_SAFE = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]*$/;
const PARAM_SAFE = /^[A-Za-z0-9\-_.!~*'()[\]/:&+$]*$/;

function escapeWith(text: string, safe: RegExp): string {
  if (safe.test(text)) return text;
  let out = '';
  for (const ch of text) {
    if (safe.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Formats a URI canonically (escaping what must be escaped). */
export function formatUri(uri: Uri): string {
  if (isTelUri(uri)) {
    let s = `tel:${uri.number}`;
    for (const k in uri.params) {
      const v = uri.params[k];
      s += v === null || v === undefined ? `;${k}` : `;${k}=${v}`;
    }
    return s;
  }
  if (!isSipUri(uri)) return uri.raw;
  let s = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    s += escapeWith(uri.user, USER_SAFE);
    if (uri.password !== undefined) s += `:${escapeWith(uri.password, USER_SAFE)}`;
    s += '@';
  }
  s += uri.hostType === 'ipv6' ? `[${uri.host}]` : uri.host;
  if (uri.port !== undefined) s += `:${uri.port}`;
  for (const k in uri.params) {
    const v = uri.params[k];
    s += v === null || v === undefined ? `;${escapeWith(k, PARAM_SAFE)}` : `;${escapeWith(k, PARAM_SAFE)}=${escapeWith(v, PARAM_SAFE)}`;
  }
  const hs = Object.keys(uri.headers);
  if (hs.length > 0) s += `?${hs.map((k) => `${escapeWith(k, PARAM_SAFE)}=${escapeWith(uri.headers[k] ?? '', PARAM_SAFE)}`).join('&')}`;
  return s;
}

const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

function normalizeHost(uri: SipUri): string {
  return uri.host.toLowerCase();
}

/** Options of {@link sipUriEquals}. */
export interface UriEqualsOptions {
  /**
   * Treat an absent port as the scheme's default (5060, 5061 for sips). RFC 3261 §19.1.4 says
   * they differ; a proxy recognising its own Route entries wants them equal.
   */
  defaultPorts?: boolean | undefined;
}

/**
 * URI comparison of RFC 3261 §19.1.4: user and password case-sensitive after unescaping, host
 * case-insensitive, `user`/`ttl`/`method`/`maddr`/`transport` must match when either has them,
 * other parameters only when both have them, headers must match.
 */
export function sipUriEquals(a: string | Uri, b: string | Uri, options: UriEqualsOptions = {}): boolean {
  let ua: Uri;
  let ub: Uri;
  try {
    ua = typeof a === 'string' ? parseUri(a) : a;
    ub = typeof b === 'string' ? parseUri(b) : b;
  } catch {
    return false;
  }
  if (ua.scheme !== ub.scheme) return false;
  if (!isSipUri(ua) || !isSipUri(ub)) {
    if (isTelUri(ua) && isTelUri(ub)) return ua.number.replace(/[-.()]/g, '') === ub.number.replace(/[-.()]/g, '');
    return ua.raw === ub.raw;
  }
  if (ua.user !== ub.user || ua.password !== ub.password) return false;
  if (normalizeHost(ua) !== normalizeHost(ub)) return false;
  const fallback = options.defaultPorts ? defaultPort(ua.scheme) : undefined;
  const pa = ua.port ?? fallback;
  const pb = ub.port ?? fallback;
  if (pa !== pb) return false;
  for (const name of SIGNIFICANT_PARAMS) {
    const va = ua.params[name];
    const vb = ub.params[name];
    if (va === undefined && vb === undefined) continue;
    if (va === undefined || vb === undefined) {
      // A default transport=udp on one side matches none on the other only with defaultPorts.
      if (options.defaultPorts && name === 'transport' && (va ?? vb)?.toLowerCase() === (ua.scheme === 'sips' ? 'tls' : 'udp')) continue;
      return false;
    }
    if ((va ?? '').toLowerCase() !== (vb ?? '').toLowerCase()) return false;
  }
  for (const name in ua.params) {
    if (SIGNIFICANT_PARAMS.includes(name)) continue;
    const vb = ub.params[name];
    if (vb === undefined) continue;
    const va = ua.params[name];
    if ((va ?? '').toLowerCase() !== (vb ?? '').toLowerCase()) return false;
  }
  const ha = Object.keys(ua.headers);
  const hb = Object.keys(ub.headers);
  if (ha.length !== hb.length) return false;
  for (const k of ha) if (ua.headers[k] !== ub.headers[k]) return false;
  return true;
}
