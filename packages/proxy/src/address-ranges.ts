/** IP ranges and CIDR lists for the relay and destination policies. */
import { BlockList, isIP } from 'node:net';
import { ProxyError } from './errors.js';

/** An address as `BlockList` wants it: no brackets, IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4. */
export function plainAddress(address: string): { address: string; type: 'ipv4' | 'ipv6' } | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 4) return { address: bare, type: 'ipv4' };
  if (family !== 6) return undefined;
  const lower = bare.toLowerCase();
  if (lower.startsWith('::ffff:')) {
    const v4 = lower.slice(7);
    if (isIP(v4) === 4) return { address: v4, type: 'ipv4' };
  }
  return { address: lower, type: 'ipv6' };
}

/** A list of CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, or a single address). */
export class CidrList {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

  /** @throws {ProxyError} `PROXY_INVALID_OPTIONS` naming the bad entry. */
  constructor(entries: readonly string[], what: string) {
    if (!Array.isArray(entries)) throw new ProxyError('PROXY_INVALID_OPTIONS', `StatelessProxy: ${what} must be a list of CIDR blocks`);
    for (const entry of entries) {
      const parsed = typeof entry === 'string' ? parseCidr(entry) : undefined;
      if (parsed === undefined) throw new ProxyError('PROXY_INVALID_OPTIONS', `StatelessProxy: ${what}: "${String(entry)}" is not an IP address or CIDR block`);
      this.#list.addSubnet(parsed.address, parsed.prefix, parsed.type);
    }
    this.entries = [...entries];
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  has(address: string): boolean {
    if (this.entries.length === 0) return false;
    const a = plainAddress(address);
    return a !== undefined && this.#list.check(a.address, a.type);
  }
}

/** `a.b.c.d/n`, `v6/n` or a bare address (a host block); undefined when not one. */
export function parseCidr(text: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const slash = text.indexOf('/');
  const a = plainAddress(slash === -1 ? text.trim() : text.slice(0, slash).trim());
  if (a === undefined) return undefined;
  const max = a.type === 'ipv4' ? 32 : 128;
  if (slash === -1) return { ...a, prefix: max };
  const p = text.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
  return { ...a, prefix: Number(p) };
}

/** What kind of special-purpose range an address is in (RFC 6890). */
export type RangeKind = 'loopback' | 'link-local' | 'private';

/** The first two octets of a dotted IPv4 text (already validated by isIP). */
function ipv4Head(address: string): [number, number] {
  const d1 = address.indexOf('.');
  const d2 = address.indexOf('.', d1 + 1);
  return [Number(address.slice(0, d1)), Number(address.slice(d1 + 1, d2))];
}

/** The first 16-bit word of an IPv6 text (validated by isIP), and whether it is exactly ::1. */
function ipv6Head(address: string): { first: number; loopback: boolean } {
  if (address.startsWith('::')) {
    // Only ::1 (in any zero-padded spelling) matters among addresses starting with zeros.
    const rest = address.slice(2);
    return { first: 0, loopback: /^0*1$/.test(rest) };
  }
  const colon = address.indexOf(':');
  const first = Number.parseInt(address.slice(0, colon), 16);
  if (first !== 0) return { first, loopback: false };
  // 0:0:0:0:0:0:0:1 and the like.
  const words = address.split(':');
  const loopback = words.length === 8 ? words.slice(0, 7).every((w) => /^0*$/.test(w)) && /^0*1$/.test(words[7]!) : address.endsWith('::1') && address.slice(0, -3).split(':').every((w) => /^0*$/.test(w));
  return { first, loopback };
}

/**
 * The special-purpose block an address lies in, if any: loopback `127.0.0.0/8`, `::1`;
 * link-local `169.254.0.0/16`, `fe80::/10`; private `10.0.0.0/8`, `172.16.0.0/12`,
 * `192.168.0.0/16`, `fc00::/7` (RFC 1122, RFC 3927, RFC 1918, RFC 4291, RFC 4193). Parsed by
 * hand: this runs for every destination.
 */
export function specialRange(address: string): { name: string; kind: RangeKind } | undefined {
  const a = plainAddress(address);
  if (a === undefined) return undefined;
  if (a.type === 'ipv4') {
    const [o1, o2] = ipv4Head(a.address);
    if (o1 === 127) return LOOPBACK4;
    if (o1 === 10) return PRIVATE10;
    if (o1 === 169 && o2 === 254) return LINK_LOCAL4;
    if (o1 === 172 && o2 >= 16 && o2 <= 31) return PRIVATE172;
    if (o1 === 192 && o2 === 168) return PRIVATE192;
    return undefined;
  }
  const { first, loopback } = ipv6Head(a.address);
  if (loopback) return LOOPBACK6;
  if ((first & 0xffc0) === 0xfe80) return LINK_LOCAL6;
  if ((first & 0xfe00) === 0xfc00) return PRIVATE6;
  return undefined;
}

const LOOPBACK4 = { name: '127.0.0.0/8', kind: 'loopback' } as const;
const LOOPBACK6 = { name: '::1/128', kind: 'loopback' } as const;
const LINK_LOCAL4 = { name: '169.254.0.0/16', kind: 'link-local' } as const;
const LINK_LOCAL6 = { name: 'fe80::/10', kind: 'link-local' } as const;
const PRIVATE10 = { name: '10.0.0.0/8', kind: 'private' } as const;
const PRIVATE172 = { name: '172.16.0.0/12', kind: 'private' } as const;
const PRIVATE192 = { name: '192.168.0.0/16', kind: 'private' } as const;
const PRIVATE6 = { name: 'fc00::/7', kind: 'private' } as const;
