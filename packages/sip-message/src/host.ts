/** Hosts and ports as RFC 3261 compares them: one spelling per address, one default port per transport. */
import { isIP } from 'node:net';

/**
 * Canonical text of a host for comparison (RFC 3261 §19.1.4: hosts compare case-insensitively):
 * brackets stripped, lower case, an IPv6 address in its one compressed form (`::1` equals
 * `0:0:0:0:0:0:0:1`), and an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, from dual-stack
 * sockets) as its IPv4 form. A hostname is only lower-cased.
 */
export function canonicalHost(host: string): string {
  const bare = host.length > 1 && host.charCodeAt(0) === 0x5b /* [ */ && host.endsWith(']') ? host.slice(1, -1) : host;
  // Only IPv6 text has more than one spelling; skip the check for everything else.
  if (!bare.includes(':') || isIP(bare) !== 6) return bare.toLowerCase();
  const lower = bare.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  try {
    return new URL(`http://[${lower}]/`).hostname.slice(1, -1);
  } catch {
    return lower;
  }
}

/**
 * The default port of a transport or scheme: 5061 for `sips` and the TLS transports (`tls`,
 * `wss`), else 5060 (RFC 3261 §19.1.2, RFC 3263 §4.2; RFC 7118 defines none for WebSocket, so
 * ws/wss follow the same rule). Case-insensitive.
 */
export function defaultPort(transportOrScheme: string): number {
  const t = transportOrScheme.toLowerCase();
  return t === 'tls' || t === 'wss' || t === 'sips' ? 5061 : 5060;
}

/** The port a SIP URI means when it has none: 5061 for `sips:` or `;transport=tls|wss`, else 5060. */
export function uriDefaultPort(uri: { scheme: string; params: Readonly<Record<string, string | null | undefined>> }): number {
  if (uri.scheme === 'sips') return 5061;
  const transport = uri.params.transport;
  return typeof transport === 'string' ? defaultPort(transport) : 5060;
}
