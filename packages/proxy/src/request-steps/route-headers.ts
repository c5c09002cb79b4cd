/** RFC 3261 §16.4: Route information preprocessing, and Net::SIP's Contact-token restore (§1.4). */
import { formatUri, uriDefaultPort } from '@sipway/sip-message';
import type { Leg } from '@sipway/sip-leg';
import { splitScheme, userPart } from '../contacts.js';
import { legHasHost, legNamedBy } from '../own-legs.js';
import { RECORD_ROUTE_SIGNATURE_PARAM } from '../record-route-signature.js';
import { type ProxyCore, type Refusal, type RequestContext, refusal, uriOf } from './context.js';

/**
 * §16.4: a strict router's fix-up, a `maddr` naming us stripped, and every top Route entry
 * naming one of our legs removed (two with double Record-Route, RFC 5658) — keeping their
 * signatures and flow tokens; the last one names the outgoing leg.
 */
export function processRoutes(core: ProxyCore, ctx: RequestContext): Refusal | undefined {
  const { request, legs, inLeg } = ctx;
  const received = uriOf(ctx, ctx.receivedUri);
  let routes = request.routes;
  // A strict router put our Record-Route URI into the Request-URI.
  if (routes.length > 0 && received !== undefined && received.user === undefined && legNamedBy(received, legs) !== undefined) {
    const sig = received.params[RECORD_ROUTE_SIGNATURE_PARAM];
    if (typeof sig === 'string') ctx.signatures.push(sig);
    request.uri = routes[routes.length - 1]!.uri;
    request.removeHeaderValue('route', routes.length - 1);
    routes = request.routes;
  }
  // A maddr naming us, reached on the port and transport the URI says, is stripped together
  // with that port and transport; processing goes on as if they were absent.
  const maddrUri = uriOf(ctx, request.uri);
  const maddr = maddrUri?.params.maddr;
  if (maddrUri !== undefined && typeof maddr === 'string' && legHasHost(inLeg, maddr)) {
    const transportParam = maddrUri.params.transport;
    const transport = typeof transportParam === 'string' ? transportParam.toLowerCase() : maddrUri.scheme === 'sips' ? 'tls' : 'udp';
    const port = maddrUri.port ?? uriDefaultPort(maddrUri);
    if (transport === inLeg.transport && port === inLeg.port) {
      const params = Object.fromEntries(Object.entries(maddrUri.params).filter(([k]) => k !== 'maddr' && k !== 'transport'));
      // Fields one by one: the parsed URI may keep some of them behind getters.
      const { scheme, user, password, host, hostType, headers, raw } = maddrUri;
      request.uri = formatUri({ scheme, user, password, host, hostType, port: undefined, params, headers, raw });
    }
  }
  const own: Leg[] = [];
  while (routes.length > 0) {
    const uri = uriOf(ctx, routes[0]!.uri);
    const leg = uri === undefined ? undefined : legNamedBy(uri, legs);
    if (uri === undefined || leg === undefined) break;
    if (uri.user !== undefined) {
      const read = core.flows.decode(uri.user, leg);
      if (read.kind === 'forged') return refusal(403, 'Forbidden', 'forged-flow-token', 'flow token in Route does not verify');
      if (read.kind === 'flow') (ctx.routeFlows ??= []).push({ leg, flow: read.flow });
    }
    const sig = uri.params[RECORD_ROUTE_SIGNATURE_PARAM];
    if (typeof sig === 'string') ctx.signatures.push(sig);
    request.removeHeaderValue('route', 0);
    own.push(leg);
    routes = request.routes;
  }
  const lastOwn = own[own.length - 1];
  if (lastOwn !== undefined && (own.length > 1 || lastOwn !== inLeg)) ctx.forcedLeg = lastOwn;
  return undefined;
}

/**
 * Net::SIP §1.4 step 1: a Request-URI carrying one of our Contact tokens goes back to the
 * original contact, out of the leg that contact came in on.
 */
export function restoreContactToken(core: ProxyCore, ctx: RequestContext): undefined {
  const { request } = ctx;
  const current = splitScheme(request.uri);
  const user = current === undefined ? undefined : userPart(current.rest);
  if (current === undefined || user === undefined || !/^\w+$/.test(user)) return undefined;
  const rewriter = core.contactRewriter();
  if (!rewriter.isToken(user)) return undefined;
  const back = rewriter.decode(user, ctx.inLeg);
  if (back !== undefined) {
    request.uri = `${current.scheme}:${back.contact}`;
    ctx.forcedLeg = back.leg ?? ctx.forcedLeg;
    ctx.restored = true;
  }
  return undefined;
}
