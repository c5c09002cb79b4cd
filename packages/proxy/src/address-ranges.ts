/** IP ranges and CIDR lists for the relay and destination policies. */
import { BlockList, isIP } from 'node:net';
import { ProxyError } from './errors.js';
import { canonicalHost } from './own-legs.js';

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
  return { address: canonicalHost(lower), type: 'ipv6' };
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

interface Range {
  /** The block itself, e.g. `10.0.0.0/8`: a leg inside it opens exactly this block. */
  readonly name: string;
  readonly kind: RangeKind;
  readonly list: BlockList;
  readonly type: 'ipv4' | 'ipv6';
}

function range(name: string, kind: RangeKind): Range {
  const c = parseCidr(name)!;
  const list = new BlockList();
  list.addSubnet(c.address, c.prefix, c.type);
  return { name, kind, list, type: c.type };
}

/** Loopback, link-local and private blocks (RFC 1122, RFC 3927, RFC 1918, RFC 4291, RFC 4193). */
const RANGES: readonly Range[] = [
  range('127.0.0.0/8', 'loopback'),
  range('::1/128', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('fe80::/10', 'link-local'),
  range('10.0.0.0/8', 'private'),
  range('172.16.0.0/12', 'private'),
  range('192.168.0.0/16', 'private'),
  range('fc00::/7', 'private'),
];

/** The special-purpose block an address lies in, if any. */
export function specialRange(address: string): { name: string; kind: RangeKind } | undefined {
  const a = plainAddress(address);
  if (a === undefined) return undefined;
  for (const r of RANGES) if (r.type === a.type && r.list.check(a.address, a.type)) return { name: r.name, kind: r.kind };
  return undefined;
}
