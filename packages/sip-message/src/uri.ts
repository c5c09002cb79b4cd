import { SipParseError } from './errors.js';
import { unescapeText } from './escape.js';
import type { Params } from './split.js';

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

export function isTelUri(uri: Uri): uri is TelUri {
  return uri.scheme === 'tel';
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Loose IPv6 check: hex groups, colons, an optional embedded IPv4 tail; node:net decides the rest.
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

export function isIPv4(text: string): boolean {
  return IPV4.test(text);
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
      if (i !== groups.length - 1 || !IPV4.test(g)) return false;
      count += 2;
    } else {
      if (g.length > 4) return false;
      count++;
    }
  }
  return double === -1 ? count === 8 : count < 8;
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
export function parseHostPort(text: string, what: string): { host: string; hostType: SipUri['hostType']; port?: number } {
  let host: string;
  let rest: string;
  let hostType: SipUri['hostType'];
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close === -1) throw new SipParseError(`unterminated IPv6 reference in ${what}`);
    host = text.slice(1, close);
    if (!isIPv6(host)) throw new SipParseError(`bad IPv6 reference in ${what}`);
    hostType = 'ipv6';
    rest = text.slice(close + 1);
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    rest = colon === -1 ? '' : text.slice(colon);
    if (isIPv4(host)) hostType = 'ipv4';
    else if (hostnameOk(host)) hostType = 'hostname';
    else throw new SipParseError(`bad host in ${what}`);
  }
  if (rest.length === 0) return { host, hostType };
  if (rest.charCodeAt(0) !== 0x3a /* : */) throw new SipParseError(`bad host in ${what}`);
  const portText = rest.slice(1);
  if (!/^\d{1,5}$/.test(portText)) throw new SipParseError(`bad port in ${what}`);
  const port = Number(portText);
  if (port > 65535) throw new SipParseError(`port out of range in ${what}`);
  return { host, hostType, port };
}

function parseUriParams(text: string, what: string): Params {
  const params: Params = Object.create(null) as Params;
  if (text.length === 0) return params;
  for (const piece of text.split(';')) {
    if (piece.length === 0) continue;
    const eq = piece.indexOf('=');
    if (eq === -1) params[unescapeText(piece, what).toLowerCase()] = null;
    else params[unescapeText(piece.slice(0, eq), what).toLowerCase()] = unescapeText(piece.slice(eq + 1), what);
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
  const colon = text.indexOf(':');
  if (colon <= 0) throw new SipParseError('URI without scheme');
  const schemeText = text.slice(0, colon);
  if (!SCHEME.test(schemeText)) throw new SipParseError('bad URI scheme');
  checkNoWhitespace(text, what);
  const scheme = schemeText.toLowerCase();
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
  let hostPart = rest;
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    const pc = userinfo.indexOf(':');
    user = unescapeText(pc === -1 ? userinfo : userinfo.slice(0, pc), what);
    if (pc !== -1) password = unescapeText(userinfo.slice(pc + 1), what);
    if (user.length === 0) throw new SipParseError('empty user part in URI');
  }
  let end = hostPart.length;
  const semi = hostPart.indexOf(';');
  const question = hostPart.indexOf('?');
  if (semi !== -1) end = semi;
  if (question !== -1 && question < end) end = question;
  const hp = parseHostPort(hostPart.slice(0, end), what);
  let paramsText = '';
  let headersText = '';
  if (end < hostPart.length) {
    if (hostPart.charCodeAt(end) === 0x3b) {
      const q = hostPart.indexOf('?', end);
      paramsText = q === -1 ? hostPart.slice(end + 1) : hostPart.slice(end + 1, q);
      headersText = q === -1 ? '' : hostPart.slice(q + 1);
    } else {
      headersText = hostPart.slice(end + 1);
    }
  }
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  if (headersText.length > 0) {
    for (const piece of headersText.split('&')) {
      const eq = piece.indexOf('=');
      if (eq <= 0) throw new SipParseError('bad URI header');
      headers[unescapeText(piece.slice(0, eq), what)] = unescapeText(piece.slice(eq + 1), what);
    }
  }
  const uri: SipUri = {
    scheme: scheme as 'sip' | 'sips',
    host: hp.host,
    hostType: hp.hostType,
    params: parseUriParams(paramsText, what),
    headers,
    raw: text,
  };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (hp.port !== undefined) uri.port = hp.port;
  return uri;
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
  defaultPorts?: boolean;
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
  const defaultPort = ua.scheme === 'sips' ? 5061 : 5060;
  const pa = ua.port ?? (options.defaultPorts ? defaultPort : undefined);
  const pb = ub.port ?? (options.defaultPorts ? defaultPort : undefined);
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
