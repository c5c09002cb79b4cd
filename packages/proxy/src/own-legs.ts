/** Recognising the proxy's own addresses in Route entries and Request-URIs (RFC 3261 §16.4). */
import { canonicalHost, parseSipUri, uriDefaultPort, type SipUri } from '@sipway/sip-message';
import type { Leg } from '@sipway/sip-leg';

/**
 * Parses a URI text to a SIP URI, or undefined (tel:, malformed). No cache: the request steps
 * keep what they parsed on the message's context (`uriOf`), so nothing outlives a message.
 */
export const sipUri: (text: string) => SipUri | undefined = parseSipUri;

// A leg's address and host never change once it listens; normalise them once.
const legHosts = new WeakMap<Leg, { address: string; host: string; key: string }>();

function hostsOf(leg: Leg): { address: string; host: string } {
  const key = `${leg.address}|${leg.host}`;
  let entry = legHosts.get(leg);
  if (entry === undefined || entry.key !== key) {
    entry = { address: canonicalHost(leg.address), host: canonicalHost(leg.host), key };
    legHosts.set(leg, entry);
  }
  return entry;
}

/** True when `host` is the name or address of the leg. */
export function legHasHost(leg: Leg, host: string): boolean {
  const h = canonicalHost(host);
  const own = hostsOf(leg);
  return h === own.address || h === own.host;
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
  const port = uri.port ?? uriDefaultPort(uri);
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

/**
 * The leg's URI for Record-Route and rewritten Contacts: a TLS leg is `sips:` only for a SIPS
 * request, else `sip:…;transport=tls` (RFC 3261 §16.6 step 4, RFC 5630 §3.1.3: sips: means
 * TLS on every hop, which a sip: request over one TLS hop never asked for).
 */
export function legUri(leg: Leg, secure: boolean): string {
  const contact = leg.contact;
  if (!secure && contact.startsWith('sips:')) return `sip:${contact.slice(5)}`;
  return contact;
}

