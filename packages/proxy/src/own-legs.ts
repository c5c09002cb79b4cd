/** Recognising the proxy's own addresses in Route entries and Request-URIs (RFC 3261 §16.4). */
import { isIP } from 'node:net';
import { isSipUri, parseUri, type SipUri } from '@sipway/sip-message';
import type { Leg } from '@sipway/sip-leg';

function canonicalHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 6) {
    try {
      return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    } catch {
      return bare.toLowerCase();
    }
  }
  return bare.toLowerCase();
}

function defaultPortOf(uri: SipUri, transport: string | undefined): number {
  return uri.scheme === 'sips' || transport === 'tls' || transport === 'wss' ? 5061 : 5060;
}

/** Parses a URI text to a SIP URI, or undefined. */
export function sipUri(text: string): SipUri | undefined {
  try {
    const uri = parseUri(text);
    return isSipUri(uri) ? uri : undefined;
  } catch {
    return undefined;
  }
}

/** True when `host` is the name or address of the leg. */
export function legHasHost(leg: Leg, host: string): boolean {
  const h = canonicalHost(host);
  return h === canonicalHost(leg.address) || h === canonicalHost(leg.host);
}

/**
 * The leg a SIP URI names by host (its address or configured host name) and port (the
 * scheme's default when absent), honouring a `transport` parameter; a `maddr` naming us counts
 * too (Net::SIP). Without a transport parameter a UDP leg is preferred (sips: a TLS one),
 * since that is what the URI means (RFC 3263 §4.1). Undefined when no leg matches.
 * @see RFC 3261 §16.4, §19.1.4 (ports compared with their defaults, `sipUriEquals` defaultPorts)
 */
export function legNamedBy(uri: SipUri, legs: readonly Leg[]): Leg | undefined {
  const transportParam = uri.params.transport;
  const transport = typeof transportParam === 'string' ? transportParam.toLowerCase() : undefined;
  const port = uri.port ?? defaultPortOf(uri, transport);
  const find = (host: string): Leg | undefined => {
    const candidates = legs.filter((leg) => leg.port === port && legHasHost(leg, host));
    if (candidates.length === 0) return undefined;
    if (transport !== undefined) return candidates.find((leg) => leg.transport === transport);
    const preferred = uri.scheme === 'sips' ? 'tls' : 'udp';
    return candidates.find((leg) => leg.transport === preferred) ?? candidates[0];
  };
  const found = find(uri.host);
  if (found !== undefined) return found;
  const maddr = uri.params.maddr;
  return typeof maddr === 'string' ? find(maddr) : undefined;
}

/** The leg whose (transport, address, port) is exactly this destination: sending there would loop. */
export function legAt(destination: { transport: string; address: string; port: number }, legs: readonly Leg[]): Leg | undefined {
  const address = canonicalHost(destination.address);
  return legs.find(
    (leg) => leg.transport === destination.transport && leg.port === destination.port && canonicalHost(leg.address) === address,
  );
}

export { canonicalHost };
