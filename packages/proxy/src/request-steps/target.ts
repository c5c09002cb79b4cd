/** RFC 3261 §16.5 and §16.6 steps 6–7: the request target and the next hop. */
import { legPlace } from '@sipway/sip-leg';
import { canonicalAor } from '@sipway/sip-message';
import { arrivedOn, bindingFlow, openFlow } from '../flows.js';
import { bestBinding, bindingUri } from '../location.js';
import { type ProxyCore, type Refusal, type RequestContext, refusal, uriOf } from './context.js';
import { isOwnHost, servesUri } from './relay.js';

/**
 * The target: the first remaining Route (loose routing; a next hop without `lr` gets the
 * strict-routing rewrite of §16.6 step 7), else the restored contact, else — for a user of a
 * served domain outside a dialog — the location service, else the Request-URI. RFC 5626 §5.3:
 * a flow token of ours names the connection to go down.
 */
export async function determineTarget(core: ProxyCore, ctx: RequestContext): Promise<Refusal | undefined> {
  const { request, info, legs, toTag } = ctx;
  let routes = request.routes;
  if (routes.length === 0 && ctx.routeFlows !== undefined) {
    // The last token of ours that is not the sender's own flow names where the request goes:
    // down that connection (never to DNS), or 430 when a required flow is gone.
    const named = ctx.routeFlows.filter((r) => !arrivedOn(r.flow, r.leg, info)).pop();
    if (named !== undefined) {
      ctx.flow = openFlow(legs, named.leg.transport, named.flow, named.leg);
      if (ctx.flow === undefined && named.flow.required) {
        return refusal(430, 'Flow Failed', 'flow-failed', `flow ${named.flow.address}:${named.flow.port} on ${named.leg.transport} is gone`);
      }
    }
  }
  if (routes.length > 0) {
    const first = routes[0]!;
    const firstUri = uriOf(ctx, first.uri);
    const strict = firstUri !== undefined && firstUri.params.lr === undefined;
    if (strict) {
      // §16.6 step 7: the next hop is a strict router.
      request.appendHeader('Route', `<${request.uri}>`);
      request.uri = first.uri;
      request.removeHeaderValue('route', 0);
      routes = request.routes;
    }
    ctx.nextHop = strict ? request.uri : first.uri;
  } else if (!ctx.restored && (toTag === undefined || request.method === 'ACK') && core.location !== undefined) {
    // Outside a dialog only; a non-2xx ACK (To tag from the response) carries the INVITE's
    // Request-URI and must follow the INVITE to the same binding (RFC 3261 §17.1.1.3).
    const r = await lookUp(core, ctx);
    if (r !== undefined) return r;
  }
  ctx.nextHop ??= request.uri;
  return undefined;
}

/** §16.5: the location service for a user of a served domain (or any with `*`, not our own host). */
async function lookUp(core: ProxyCore, ctx: RequestContext): Promise<Refusal | undefined> {
  const { request, legs } = ctx;
  const location = core.location!;
  const target = uriOf(ctx, request.uri);
  // §16.4/§19.1.4: a URI is ours by host *and* port and transport; a URI with one of our
  // addresses and another port names another element on our host and is forwarded as is.
  const served = target !== undefined && servesUri(core, target);
  if (target === undefined || target.user === undefined || !(served || (core.wildcard && !isOwnHost(core, target.host)))) return undefined;
  const aor = canonicalAor(target) ?? request.uri;
  let bindings;
  try {
    bindings = await location.lookup(aor);
  } catch (error) {
    // A failing store is a temporary condition of ours (RFC 3261 §21.5.4), not the callee's.
    return refusal(503, 'Service Unavailable', 'location-failed', `lookup of ${aor} failed: ${String(error)}`);
  }
  // RFC 5626 §5.2: a binding reachable only over a connection that closed is skipped.
  const flows = bindings.map((b) => bindingFlow(b, legs));
  const live = bindings.filter((_, i) => flows[i]!.kind !== 'dead');
  const best = bestBinding(live);
  if (best !== undefined) {
    ctx.fromBinding = true;
    request.uri = bindingUri(best.contact);
    const path = best.path ?? [];
    for (let i = path.length - 1; i >= 0; i--) request.insertHeader('Route', path[i]!);
    ctx.nextHop = path.length > 0 ? bindingUri(path[0]!) : request.uri;
    // RFC 7118 §5, RFC 5626 §5.3: a WebSocket, `.invalid`, outbound or NATed client is
    // reached over the connection it registered on, which the binding's source names.
    const reach = flows[bindings.indexOf(best)]!;
    if (reach.kind === 'flow') ctx.flow = reach.target;
    else if (reach.kind === 'source') ctx.sourceDestination = reach.destination;
    // A proxy between networks reaches a binding through the leg it registered on (its network),
    // not through the first leg of the transport.
    const local = best.source?.local;
    if (local !== undefined) ctx.preferredLeg = legs.find((leg) => legPlace(leg) === local);
    return undefined;
  }
  if ((bindings.length > 0 || served) && request.method !== 'ACK') {
    // An ACK is never answered: without a binding it goes on its Request-URI (the 2xx ACK of a
    // dialog whose callee has no binding here, RFC 3261 §17.1.1.3, §13.2.2.4). Bindings that
    // all need a flow which closed: the user exists, it is just not reachable now.
    let known = bindings.length > 0;
    if (!known) {
      try {
        known = (await location.knows?.(aor)) ?? false;
      } catch {
        // Cannot tell: 404 is still true of the bindings.
      }
    }
    return known
      ? refusal(480, 'Temporarily Unavailable', 'temporarily-unavailable', `${aor} has no reachable binding`)
      : refusal(404, 'Not Found', 'not-found', `${aor} is unknown`);
  }
  return undefined;
}
