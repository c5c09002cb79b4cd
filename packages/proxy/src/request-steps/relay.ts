/** Who may be relayed where: the relay policy and the destination policy, over the request context. */
import { canonicalAor, canonicalHost } from '@sipway/sip-message';
import type { SipUri } from '@sipway/sip-message';
import { bindingUri } from '../location.js';
import { legHasHost, legNamedBy, sipUri } from '../own-legs.js';
import { RecentRelays } from '../relay-policy.js';
import { type ProxyCore, type Refusal, type RequestContext, refusal, uriOf } from './context.js';

/**
 * True when the URI is for this proxy to serve: its host is a served domain (domain match,
 * any port), or it names one of our legs by host, port and transport (RFC 3261 §16.4,
 * §19.1.4). A URI with a maddr (one naming us was stripped already) goes where maddr says.
 */
export function servesUri(core: ProxyCore, uri: SipUri): boolean {
  if (typeof uri.params.maddr === 'string') return false;
  return core.domains.has(canonicalHost(uri.host)) || legNamedBy(uri, core.dispatcher.legs) !== undefined;
}

/** A host that is one of our legs' names or addresses (any port). */
export function isOwnHost(core: ProxyCore, host: string): boolean {
  return core.dispatcher.legs.some((leg) => legHasHost(leg, host)) || core.destinationPolicy.isOwnAddress(host);
}

/**
 * The relay policy: the target is ours to serve, or the request shows it may go elsewhere.
 * Allowed: everything with `domains: ['*']` or `openRelay`; a target (first Route left after
 * §16.4, else the Request-URI) this proxy serves; a Request-URI holding one of our Contact
 * tokens; an in-dialog request on a Record-Route we signed; a sender authenticated ahead in the
 * chain or on `relayAllow`; and the CANCEL or non-2xx ACK of an INVITE relayed for one of those
 * senders. From is never evidence: anyone can write any From.
 */
export function relayPolicy(core: ProxyCore, ctx: RequestContext): Refusal | undefined {
  return relayAllowed(core, ctx) ? undefined : refusal(403, 'Forbidden', 'forbidden-relay', 'relaying to a target this proxy does not serve is not allowed');
}

function relayAllowed(core: ProxyCore, ctx: RequestContext): boolean {
  if (core.wildcard || core.openRelay || ctx.restored) return true;
  const { request, info, toTag, signatures } = ctx;
  const routes = request.routes;
  const target = uriOf(ctx, routes.length > 0 ? routes[0]!.uri : request.uri);
  if (target !== undefined && servesUri(core, target)) return true;
  if (toTag !== undefined && signatures.length > 0) {
    const callId = request.callId ?? '';
    const tags = [request.from?.tag ?? '', toTag];
    if (signatures.some((sig) => core.signer.verify(sig, callId, tags))) return true;
  }
  if (core.relayAllow.has(info.source.address)) return true;
  const method = request.method;
  if (method === 'CANCEL' || method === 'ACK') {
    const key = RecentRelays.keyOf(request, ctx.receivedUri);
    return key !== undefined && core.recent.has(key);
  }
  const trusted = info.authenticatedUser !== undefined;
  if (trusted && method === 'INVITE') {
    const key = RecentRelays.keyOf(request, ctx.receivedUri);
    if (key !== undefined) core.recent.add(key);
  }
  return trusted;
}

/**
 * Why a destination address is refused (undefined: allowed). Restricted ranges open when the
 * target came from a binding or a binding of the To address-of-record names the address (an
 * in-dialog request to a registered user on such an address).
 */
export async function destinationRefusal(core: ProxyCore, ctx: RequestContext, address: string): Promise<string | undefined> {
  const refused = core.destinationPolicy.check(address, ctx.fromBinding);
  if (refused === undefined || refused === 'broadcast-or-multicast' || refused === 'forbidden') return refused;
  return (await bindingNames(core, ctx, address)) ? undefined : refused;
}

/** True when a binding of the To URI's address-of-record (a served domain, or any with `*`) has this address. */
async function bindingNames(core: ProxyCore, ctx: RequestContext, address: string): Promise<boolean> {
  const { request } = ctx;
  if (core.location === undefined || request.to === undefined) return false;
  const to = uriOf(ctx, request.to.uri);
  if (to === undefined || to.user === undefined || !(core.wildcard || core.domains.has(canonicalHost(to.host)))) return false;
  let bindings;
  try {
    bindings = await core.location.lookup(canonicalAor(to) ?? request.to.uri);
  } catch {
    return false;
  }
  const want = canonicalHost(address);
  return bindings.some((b) => {
    const uri = sipUri(bindingUri(b.contact));
    return (uri !== undefined && canonicalHost(uri.host) === want) || (b.source !== undefined && canonicalHost(b.source.address) === want);
  });
}
