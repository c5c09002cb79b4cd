/**
 * The transport layer's own reading and editing of the top Via (RFC 3261 §18.2.1, §18.2.2,
 * RFC 3581). It works on the raw header value so that the parameters a client wrote keep their
 * order, case and spelling; only `received` and `rport` are touched.
 */
import { canonicalAddress, hostPort, ipFamily, sameAddress, stripBrackets } from './address.js';
import { defaultPort } from './destination.js';
import type { Destination, Transport } from './destination.js';
import { parseVia, type SipMessage, type Via } from '@sipway/sip-message';

/** The parts of a Via value the transport layer needs. */
export interface ViaParts {
  /** Upper-case transport as written (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP` ...). */
  transport: string;
  /** Sent-by host, IPv6 without brackets. */
  host: string;
  port: number | undefined;
  /** Lower-case parameter names in order; `null` for a parameter without value. */
  params: Map<string, string | null>;
}

/** Split at `;` outside double quotes. */
function splitParams(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */ && text.charCodeAt(i - 1) !== 0x5c) quoted = !quoted;
    else if (c === 0x3b /* ; */ && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** The top Via parsed by @sipway/sip-message's `parseVia` (the one Via parser), or undefined when malformed. */
function parsedVia(value: string): Via | undefined {
  try {
    return parseVia(value);
  } catch {
    return undefined;
  }
}

/** Parse one Via value; undefined when it is not `SIP/2.0/<transport> <sent-by>`. */
export function readVia(value: string): ViaParts | undefined {
  const via = parsedVia(value);
  if (via === undefined || via.host.length === 0) return undefined;
  const params = new Map<string, string | null>();
  for (const [name, v] of Object.entries(via.params)) params.set(name, v ?? null);
  return { transport: via.transport, host: via.host, port: via.port, params };
}

/**
 * Add `received` / fill `rport` on a request's top Via value as the server transport must.
 * Returns the new value, or undefined when nothing changes.
 *
 * @see RFC 3261 §18.2.1 — add `received` when the sent-by host differs from the source address
 * @see RFC 3581 §4 — `rport` without value: set it to the source port and always add `received`
 */
export function stampVia(value: string, source: { address: string; port: number }, parsed?: Via): string | undefined {
  // `parsed`: the message's cached top Via, so the value is not parsed a second time here.
  const via = parsed ?? parsedVia(value);
  if (via === undefined) return undefined;
  const fillRport = via.rport === null;
  const needReceived = fillRport || !sameAddress(via.host, source.address);
  if (!fillRport && !needReceived) return undefined;
  const received = canonicalAddress(source.address);
  const segments = splitParams(value);
  let sawReceived = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] ?? '';
    const eq = seg.indexOf('=');
    const name = (eq < 0 ? seg : seg.slice(0, eq)).trim().toLowerCase();
    if (name === 'rport' && fillRport && (eq < 0 || seg.slice(eq + 1).trim() === '')) segments[i] = `rport=${source.port}`;
    else if (name === 'received') {
      sawReceived = true;
      if (needReceived) segments[i] = `received=${received}`;
    }
  }
  if (needReceived && !sawReceived) segments.push(`received=${received}`);
  // Trim trailing whitespace of the last segment so the appended parameter stays attached.
  return segments.map((s, i) => (i === 0 ? s.trimEnd() : s.trim())).join(';');
}

/** Lower-case Via transport to our {@link Transport}, or undefined for SCTP and unknowns. */
export function viaTransport(value: string): Transport | undefined {
  const t = value.toLowerCase();
  return t === 'udp' || t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' ? t : undefined;
}

/** Where a response goes according to its top Via. */
export type ResponseTarget =
  | { kind: 'address'; destination: Destination; /** port of sent-by, for opening a new stream connection */ sentByPort: number }
  | { kind: 'host'; transport: Transport; host: string; port: number | undefined }
  | { kind: 'invalid'; reason: string };

/**
 * The destination of a response from its top Via: the message's parsed (and cached) `topVia`,
 * or a Via value, parsed with @sipway/sip-message's `parseVia` — one Via parser for every package.
 *
 * @see RFC 3261 §18.2.2 — `maddr`, else `received` with the sent-by port (default 5060/5061),
 *   else the sent-by host (which needs RFC 3263 §5 resolution when it is a name)
 * @see RFC 3581 §4 — `received` + `rport` with a value: that address and port (unreliable transports)
 */
export function responseTarget(top: Via | string | undefined): ResponseTarget {
  if (top === undefined) return { kind: 'invalid', reason: 'response has no Via' };
  let via: Via;
  try {
    via = typeof top === 'string' ? parseVia(top) : top;
  } catch {
    return { kind: 'invalid', reason: 'top Via is malformed' };
  }
  const transport = viaTransport(via.transport);
  if (transport === undefined) return { kind: 'invalid', reason: `unsupported Via transport ${via.transport}` };
  if (via.port === 0) return { kind: 'invalid', reason: 'top Via is malformed' };
  const sentByPort = via.port ?? defaultPort(transport);
  const { maddr, received } = via;
  const rport = typeof via.rport === 'number' && via.rport > 0 ? via.rport : undefined;
  let address: string | undefined;
  let port = sentByPort;
  if (maddr && ipFamily(maddr) !== undefined) address = stripBrackets(maddr);
  else if (received && ipFamily(received) !== undefined) {
    address = stripBrackets(received);
    if (rport !== undefined && transport === 'udp') port = rport;
  } else if (ipFamily(via.host) !== undefined) {
    address = via.host;
    if (rport !== undefined && transport === 'udp') port = rport;
  }
  if (address === undefined) return { kind: 'host', transport, host: via.host, port: via.port };
  const family = ipFamily(address) ?? 4;
  return { kind: 'address', destination: { transport, address: canonicalAddress(address), port, family }, sentByPort };
}

/** {@link responseTarget} of a message's top Via as the message parsed and cached it (never parsed again here). */
export function responseTargetOf(message: SipMessage): ResponseTarget {
  let top: Via | undefined;
  try {
    top = message.topVia;
  } catch {
    return { kind: 'invalid', reason: 'top Via is malformed' };
  }
  return responseTarget(top);
}

/** `SIP/2.0/<TRANSPORT> host:port` — the Via prefix of a leg (RFC 3261 §20.42). */
export function sentProtocolAndBy(transport: Transport, host: string, port: number): string {
  return `SIP/2.0/${transport.toUpperCase()} ${hostPort(host, port)}`;
}
