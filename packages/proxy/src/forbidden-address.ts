import { isIP } from 'node:net';

/**
 * True for addresses a proxy must never send to: IPv4 "this network" 0.0.0.0/8, multicast
 * 224.0.0.0/4, reserved 240.0.0.0/4 (which holds the limited broadcast 255.255.255.255), and
 * IPv6 unspecified `::` and multicast ff00::/8. A directed broadcast (x.y.z.255 of a /24) is
 * not caught: that address is an ordinary host in a larger subnet; add it with the proxy's
 * `forbiddenDestination` option where it applies.
 * @see RFC 4475 §3.1.2 (the `bcast` torture test), RFC 3261 §18.2.2
 */
export function isBroadcastOrMulticast(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 4) {
    const first = Number(bare.slice(0, bare.indexOf('.')));
    return first === 0 || first >= 224;
  }
  if (family === 6) {
    const lower = bare.toLowerCase();
    if (lower.startsWith('ff')) return true;
    if (/^[0:]+$/.test(lower)) return true;
    // IPv4-mapped forms of the IPv4 cases.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped?.[1] !== undefined && isBroadcastOrMulticast(mapped[1]);
  }
  return false;
}
