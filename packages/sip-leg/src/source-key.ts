import { isIPv6 } from 'node:net';

/**
 * The key a source address is counted under: an IPv4 address as it is (IPv4-mapped IPv6 folded to
 * IPv4), an IPv6 address reduced to its first `ipv6Prefix` bits (`2001:db8:1:2::/64`) — one end
 * site gets a whole /64 and can pick a fresh address from it for every request, so counting full
 * IPv6 addresses would count nothing. Zone ids are dropped; 128 keeps the full address.
 */
export function sourceKey(address: string, ipv6Prefix = 64): string {
  const a = address.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (ipv6Prefix >= 128 || !isIPv6(a)) return a;
  const groups = expand(a);
  if (groups === undefined) return a;
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, ipv6Prefix - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push(((groups[i] as number) & mask).toString(16));
  }
  return `${out.join(':')}/${ipv6Prefix}`;
}

// Eight 16-bit groups of a valid IPv6 address (checked by isIPv6), an embedded IPv4 tail included.
function expand(a: string): number[] | undefined {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [b0, b1, b2, b3] = g.split('.').map(Number) as [number, number, number, number];
        out.push((b0 << 8) | b1, (b2 << 8) | b3);
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const gap = a.indexOf('::');
  if (gap === -1) return parse(a);
  const head = parse(a.slice(0, gap));
  const tail = parse(a.slice(gap + 2));
  const zeros = 8 - head.length - tail.length;
  return zeros < 0 ? undefined : [...head, ...Array.from({ length: zeros }, () => 0), ...tail];
}
