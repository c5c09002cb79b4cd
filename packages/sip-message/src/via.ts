import { SipParseError } from './errors.js';
import { isToken } from './name-addr.js';
import { type Params, scanParams } from './split.js';
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
  const hp = parseHostPort(sentBy, 'Via sent-by');
  const params = scanParams(text, i, {});
  if (params === undefined) throw new SipParseError('bad Via parameters');
  const branch = params.branch;
  const received = params.received;
  const maddr = params.maddr;
  // One shape for every Via (absent parts undefined) keeps readers monomorphic.
  const via: Via = {
    raw: text,
    protocol,
    transport,
    host: hp.host,
    port: hp.port,
    sentBy,
    params,
    branch: typeof branch === 'string' ? branch : undefined,
    received: typeof received === 'string' ? received : undefined,
    rport: undefined,
    maddr: typeof maddr === 'string' ? maddr : undefined,
    ttl: undefined,
  };
  const rport = params.rport;
  if (rport !== undefined) {
    if (rport === null || rport === '') via.rport = null;
    else {
      const port = digits(rport, 5);
      if (port === -1 || port > 65535) throw new SipParseError('bad Via rport');
      via.rport = port;
    }
  }
  const ttl = params.ttl;
  if (typeof ttl === 'string') {
    const t = digits(ttl, 3);
    if (t === -1 || t > 255) throw new SipParseError('bad Via ttl');
    via.ttl = t;
  }
  return via;
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
