import { SipParseError } from './errors.js';
import { isToken } from './name-addr.js';
import { type Params, parseParams } from './split.js';
import { parseHostPort } from './uri.js';

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

/**
 * Parses one Via value. Whitespace is allowed around `/`, `;` and `=` (RFC 3261 §25.1 LWS;
 * RFC 4475 `wsinv`).
 */
export function parseVia(text: string): Via {
  const raw = text;
  let s = text.trim();
  const slash1 = s.indexOf('/');
  if (slash1 === -1) throw new SipParseError('bad Via: no protocol');
  const name = s.slice(0, slash1).trim();
  s = s.slice(slash1 + 1);
  const slash2 = s.indexOf('/');
  if (slash2 === -1) throw new SipParseError('bad Via: no transport');
  const version = s.slice(0, slash2).trim();
  s = s.slice(slash2 + 1).trimStart();
  let i = 0;
  while (i < s.length && s.charCodeAt(i) > 0x20 && s.charCodeAt(i) !== 0x3b) i++;
  const transport = s.slice(0, i).toUpperCase();
  if (!isToken(name) || !isToken(version) || !isToken(transport)) throw new SipParseError('bad Via protocol');
  s = s.slice(i).trimStart();
  const semi = s.indexOf(';');
  const sentBy = (semi === -1 ? s : s.slice(0, semi)).trim();
  if (sentBy.length === 0 || /[\s,]/.test(sentBy)) throw new SipParseError('bad Via sent-by');
  const hp = parseHostPort(sentBy, 'Via sent-by');
  const params = parseParams(semi === -1 ? '' : s.slice(semi + 1));
  const via: Via = {
    raw,
    protocol: `${name.toUpperCase()}/${version}`,
    transport,
    host: hp.host,
    sentBy,
    params,
  };
  if (hp.port !== undefined) via.port = hp.port;
  const branch = params.branch;
  if (typeof branch === 'string') via.branch = branch;
  const received = params.received;
  if (typeof received === 'string') via.received = received;
  if ('rport' in params) {
    const r = params.rport;
    if (r === null || r === '') via.rport = null;
    else {
      if (!/^\d{1,5}$/.test(r ?? '')) throw new SipParseError('bad Via rport');
      via.rport = Number(r);
    }
  }
  const maddr = params.maddr;
  if (typeof maddr === 'string') via.maddr = maddr;
  const ttl = params.ttl;
  if (typeof ttl === 'string') {
    if (!/^\d{1,3}$/.test(ttl) || Number(ttl) > 255) throw new SipParseError('bad Via ttl');
    via.ttl = Number(ttl);
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
