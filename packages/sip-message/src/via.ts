import { SipParseError } from './errors.js';
import { isToken } from './name-addr.js';
import { PARAM_POS, type Params, findParams, nameIs, scanParams } from './split.js';
import { parseHostPort } from './uri.js';
import { digits } from './digits.js';

/** One Via value (RFC 3261 §20.42, §18.2; RFC 3581 rport). */
export interface Via {
  /** The value as written. */
  raw: string;
  /** `SIP/2.0`. */
  protocol: string;
  /** Upper case: `UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`. */
  transport: string;
  /** IPv6 without brackets. */
  host: string;
  port?: number;
  /** `host[:port]` as written (IPv6 in brackets). */
  sentBy: string;
  /** Lower-case names, in the order written. */
  params: Params;
  branch?: string;
  received?: string;
  /** A number when the rport has a value, `null` when present without one. */
  rport?: number | null;
  maddr?: string;
  ttl?: number;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Parses one Via value. Whitespace is allowed around `/`, `;` and `=` (RFC 3261 §25.1 LWS;
 * RFC 4475 `wsinv`).
 */
export function parseVia(text: string): Via {
  const n = text.length;
  let i = 0;
  while (i < n && isWs(text.charCodeAt(i))) i++;
  let protocol: string;
  // The common spelling first; anything else goes through the general scanner below.
  if (text.startsWith('SIP/2.0/', i)) {
    protocol = 'SIP/2.0';
    i += 8;
  } else {
    const slash1 = text.indexOf('/', i);
    if (slash1 === -1) throw new SipParseError('bad Via: no protocol');
    const slash2 = text.indexOf('/', slash1 + 1);
    if (slash2 === -1) throw new SipParseError('bad Via: no transport');
    const name = text.slice(i, slash1).trim();
    const version = text.slice(slash1 + 1, slash2).trim();
    if (!isToken(name) || !isToken(version)) throw new SipParseError('bad Via protocol');
    protocol = `${name.toUpperCase()}/${version}`;
    i = slash2 + 1;
    while (i < n && isWs(text.charCodeAt(i))) i++;
  }
  const ts = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWs(c) || c === 0x3b) break;
    i++;
  }
  const transportText = text.slice(ts, i);
  if (!isToken(transportText)) throw new SipParseError('bad Via transport');
  const transport = transportText === 'UDP' || transportText === 'TCP' ? transportText : transportText.toUpperCase();
  while (i < n && isWs(text.charCodeAt(i))) i++;
  const ss = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x3b || isWs(c) || c === 0x2c) break;
    i++;
  }
  const sentBy = text.slice(ss, i);
  if (sentBy.length === 0) throw new SipParseError('bad Via sent-by');
  let host: string;
  let port: number | undefined;
  if (text.charCodeAt(ss) === 0x5b /* [ */) {
    const hp = parseHostPort(sentBy, 'Via sent-by');
    host = hp.host;
    port = hp.port;
  } else {
    // host[:port] read in place: a Via needs the host checked, not classified.
    let colon = ss;
    while (colon < i && text.charCodeAt(colon) !== 0x3a) {
      if (!isHostChar(text.charCodeAt(colon))) throw new SipParseError('bad host in Via sent-by');
      colon++;
    }
    if (colon === ss) throw new SipParseError('bad host in Via sent-by');
    host = colon === i ? sentBy : text.slice(ss, colon);
    if (colon < i) {
      let v = 0;
      let d = colon + 1;
      // port = 1*DIGIT: leading zeros are legal, so the length is not bounded, the value is.
      if (d === i) throw new SipParseError('bad port in Via sent-by');
      for (; d < i; d++) {
        const c = text.charCodeAt(d) - 0x30;
        if (c < 0 || c > 9) throw new SipParseError('bad port in Via sent-by');
        if (v <= 65535) v = v * 10 + c;
      }
      if (v > 65535) throw new SipParseError('port out of range in Via sent-by');
      port = v;
    }
  }
  const count = findParams(text, i);
  if (count === -1) throw new SipParseError('bad Via parameters');
  const via = new ParsedVia(text, protocol, transport, host, port, sentBy, i);
  for (let p = 0; p < count; p++) {
    const ns = PARAM_POS[p * 4] as number;
    const ne = PARAM_POS[p * 4 + 1] as number;
    const vs = PARAM_POS[p * 4 + 2] as number;
    const ve = PARAM_POS[p * 4 + 3] as number;
    const value = vs === -1 ? null : text.slice(vs, ve);
    switch (ne - ns) {
      case 6:
        if (nameIs(text, ns, ne, 'branch')) via.branch ??= value ?? undefined;
        break;
      case 8:
        if (nameIs(text, ns, ne, 'received')) via.received ??= value ?? undefined;
        break;
      case 5:
        if (nameIs(text, ns, ne, 'rport') && via.rport === undefined) {
          if (value === null || value === '') via.rport = null;
          else {
            const port = digits(value, 65536);
            if (port === -1 || port > 65535) throw new SipParseError('bad Via rport');
            via.rport = port;
          }
        } else if (nameIs(text, ns, ne, 'maddr')) via.maddr ??= value ?? undefined;
        break;
      case 3:
        if (nameIs(text, ns, ne, 'ttl') && value !== null) {
          const t = digits(value, 256);
          if (t === -1 || t > 255) throw new SipParseError('bad Via ttl');
          via.ttl = t;
        }
        break;
    }
  }
  return via;
}

// RFC 3261 §25.1 hostname and IPv4 characters, plus '_' (seen in real deployments) and '%',
// as parseHostPort accepts.
function isHostChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x25
  );
}

/** A parsed Via: the parts a proxy reads are fields; the whole parameter record is built on first use. */
class ParsedVia implements Via {
  raw: string;
  protocol: string;
  transport: string;
  host: string;
  port: number | undefined;
  sentBy: string;
  branch: string | undefined = undefined;
  received: string | undefined = undefined;
  rport: number | null | undefined = undefined;
  maddr: string | undefined = undefined;
  ttl: number | undefined = undefined;
  #paramsFrom: number;
  #params: Params | undefined = undefined;

  constructor(raw: string, protocol: string, transport: string, host: string, port: number | undefined, sentBy: string, paramsFrom: number) {
    this.raw = raw;
    this.protocol = protocol;
    this.transport = transport;
    this.host = host;
    this.port = port;
    this.sentBy = sentBy;
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

/** Formats a Via from its parts: `SIP/2.0/UDP host:port;branch=…;rport`. */
export function formatVia(via: Pick<Via, 'protocol' | 'transport' | 'sentBy' | 'params'>): string {
  let s = `${via.protocol}/${via.transport} ${via.sentBy}`;
  for (const k in via.params) {
    const v = via.params[k];
    s += v === null || v === undefined ? `;${k}` : `;${k}=${v}`;
  }
  return s;
}
