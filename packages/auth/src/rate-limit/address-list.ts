import { BlockList, isIP } from 'node:net';
import { AuthOptionsError } from '../errors.js';

/**
 * A set of addresses and CIDR ranges, IPv4 and IPv6 (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`).
 * IPv4-mapped IPv6 sources (`::ffff:192.0.2.7`) match their IPv4 entries. Built on node:net's
 * BlockList; entries are checked once, at construction.
 */
export class AddressList {
  readonly #list = new BlockList();
  readonly #size: number;

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim();
      const slash = entry.indexOf('/');
      const address = (slash === -1 ? entry : entry.slice(0, slash)).replace(/^\[(.*)\]$/, '$1');
      const family = isIP(address);
      if (family === 0) throw new AuthOptionsError(`allow-list entry "${raw}" is not an IP address or CIDR range`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) {
        this.#list.addAddress(address, type);
        continue;
      }
      const bits = entry.slice(slash + 1);
      const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
      if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new AuthOptionsError(`allow-list entry "${raw}" has a bad prefix length`);
      this.#list.addSubnet(address, prefix, type);
    }
    this.#size = entries.length;
  }

  /** How many entries were given. */
  get size(): number {
    return this.#size;
  }

  /** True when `address` is listed or inside a listed range. */
  has(address: string): boolean {
    const a = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
    const family = isIP(a);
    if (family === 0) return false;
    return this.#list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}
