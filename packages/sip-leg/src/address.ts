import { isIP } from 'node:net';
import { canonicalHost } from '@sipway/sip-message';
import type { AddressFamily } from './destination.js';

/** Family of an IP literal, or undefined when it is not one (a hostname). Brackets allowed. */
export function ipFamily(address: string): AddressFamily | undefined {
  const kind = isIP(stripBrackets(address));
  return kind === 4 ? 4 : kind === 6 ? 6 : undefined;
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
