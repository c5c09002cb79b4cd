import { isIP } from 'node:net';
import { canonicalHost } from '@sipway/sip-message';
import type { AddressFamily } from './destination.js';

/** Family of an IP literal, or undefined when it is not one (a hostname). Brackets allowed. */
export function ipFamily(address: string): AddressFamily | undefined {
  // Read for every message (legs, destinations, Vias): dotted quads are checked by hand, since
  // net.isIP runs a regular expression and allocates; anything with a colon goes to net.isIP.
  if (isDottedQuad(address)) return 4;
  if (address.indexOf(':') === -1 && address.charCodeAt(0) !== 0x5b) return undefined;
  const kind = isIP(stripBrackets(address));
  return kind === 4 ? 4 : kind === 6 ? 6 : undefined;
}

/** IPv4address as net.isIP accepts it: four decimal octets 0–255, no leading zeros. */
export function isDottedQuad(text: string): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let octets = 0;
  let i = 0;
  while (i < n) {
    const start = i;
    let value = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(start) === 0x30)) return false;
    octets++;
    if (i === n) break;
    if (text.charCodeAt(i) !== 0x2e || octets === 4) return false;
    i++;
    if (i === n) return false;
  }
  return octets === 4;
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Canonical text of an IP address so that `::1` equals `0:0:0:0:0:0:0:1` and an IPv4-mapped
 * IPv6 source (`::ffff:127.0.0.1`, from dual-stack sockets) equals its IPv4 form; hostnames
 * lower-cased. @sipway/sip-message's `canonicalHost`, under the name this package uses.
 */
export const canonicalAddress: (address: string) => string = canonicalHost;

/** Same IP address (canonical comparison); a hostname never equals an IP. */
export function sameAddress(a: string, b: string): boolean {
  return canonicalAddress(a) === canonicalAddress(b);
}

/** `host:port` with IPv6 in brackets (RFC 3261 §25.1 hostport). */
/**
 * A leg's place, `transport:address:port` (IPv6 in brackets): how a binding names the leg its
 * REGISTER arrived on, so that every process with that leg recognises it.
 */
export function legPlace(leg: { transport: string; address: string; port: number }): string {
  return `${leg.transport}:${hostPort(leg.address, leg.port)}`;
}

export function hostPort(host: string, port?: number): string {
  const bare = stripBrackets(host);
  const h = isIP(bare) === 6 ? `[${bare}]` : bare;
  return port === undefined ? h : `${h}:${port}`;
}

/** True for wildcard bind addresses, which cannot appear in a Via or Record-Route. */
export function isWildcard(address: string): boolean {
  const c = canonicalAddress(address);
  return c === '0.0.0.0' || c === '::';
}
