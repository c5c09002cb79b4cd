/**
 * Configured next hops that override DNS: Net::SIP's `domain2proxy` map and the outbound proxy.
 * Both are parsed and checked once, when the resolver is built (a bad entry is a start-up error).
 */
import { isIP } from 'node:net';
import { isSipUri, parseUri, type SipUri } from '@sipway/sip-message';
import { LegOptionsError } from '../errors.js';

/**
 * Parses a configured hop: a SIP or SIPS URI (`sip:proxy.example.net:5070;transport=tcp`) or a
 * bare `host[:port]` (`proxy.example.net`, `192.0.2.1:5070`, `[2001:db8::1]:5070`), which
 * becomes `sip:host[:port]` as RFC 3263 §4 does for a proxy "not identified by a SIP URI".
 */
export function parseHop(value: string, what: string): SipUri {
  const text = /^sips?:/i.test(value) ? value : `sip:${value}`;
  let uri;
  try {
    uri = parseUri(text);
  } catch (error) {
    throw new LegOptionsError(`${what}: '${value}' is neither a SIP URI nor host[:port] (${(error as Error).message})`);
  }
  if (!isSipUri(uri)) throw new LegOptionsError(`${what}: '${value}' is not a sip: or sips: URI`);
  return uri;
}

/**
 * The `domain2proxy` map: keys are a domain (`example.com`), a wildcard for its subdomains
 * (`*.example.com`, which does not match `example.com` itself) or `*` for everything.
 */
export class DomainProxyMap {
  private readonly hops = new Map<string, SipUri>();

  constructor(map: Record<string, string> | undefined) {
    for (const [key, value] of Object.entries(map ?? {})) {
      let text = key.trim().toLowerCase();
      // An IPv6 literal key may come with or without brackets; it is kept without.
      if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
      const wildcard = text.startsWith('*.');
      const bare = (wildcard ? text.slice(2) : text).replace(/\.$/, '');
      const ipv6 = !wildcard && isIP(bare) === 6;
      if (text !== '*' && !ipv6 && (bare.length === 0 || bare.includes('*') || /[\s;@/:[\]]/.test(bare))) {
        throw new LegOptionsError(`domain2proxy: '${key}' is not a domain, '*.domain' or '*'`);
      }
      const domain = text === '*' ? '*' : wildcard ? `*.${bare}` : bare;
      this.hops.set(domain, parseHop(value, `domain2proxy['${key}']`));
    }
  }

  get size(): number {
    return this.hops.size;
  }

  /**
   * The hop for a host, Net::SIP's order: the exact domain, then `*.parent` walking up one label
   * at a time (`a.b.example.org` tries `*.b.example.org`, `*.example.org`, `*.org`), then `*`.
   * IP literals match an exact entry or `*` only.
   */
  match(host: string, isIp: boolean): SipUri | undefined {
    const domain = host.toLowerCase().replace(/\.$/, '');
    const exact = this.hops.get(domain);
    if (exact) return exact;
    if (!isIp) {
      const labels = domain.split('.');
      for (let i = 1; i < labels.length; i++) {
        const hop = this.hops.get(`*.${labels.slice(i).join('.')}`);
        if (hop) return hop;
      }
    }
    return this.hops.get('*');
  }
}
