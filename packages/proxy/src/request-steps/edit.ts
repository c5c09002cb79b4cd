/** RFC 3261 §16.6 steps 3–8 for the leg the dispatcher chose: Max-Forwards, Contacts, Record-Route, Via, media. */
import type { Leg } from '@sipway/sip-leg';
import type { SipMessage, SipRequest } from '@sipway/sip-message';
import { netSipBranch, rfcBranch } from '../branch.js';
import { rewriteContacts } from '../contacts.js';
import type { Flow } from '../flow-token.js';
import { incomingFlow } from '../flows.js';
import { branchBaseOf } from '../md5.js';
import { legUri, sipUri } from '../own-legs.js';
import { RECORD_ROUTE_SIGNATURE_PARAM } from '../record-route-signature.js';
import { type ProxyCore, type Refusal, type RequestContext, refusal } from './context.js';

/** Edit the request for `outLeg` just before it is sent; a refusal when it must not go. */
export function editRequest(core: ProxyCore, ctx: RequestContext, outLeg: Leg): Refusal | undefined | Promise<Refusal | undefined> {
  const { request, info, inLeg, flow, toTag, loop } = ctx;
  const twoLegs = outLeg !== inLeg;
  if (ctx.mfPresent) request.setHeader('Max-Forwards', String(ctx.newMf));
  else request.appendHeader('Max-Forwards', String(ctx.newMf));
  if (twoLegs || core.forceRewrite) rewriteContacts(request, core.contactRewriter(), inLeg, outLeg);
  const recordRoute = core.recordRoute && request.method !== 'REGISTER';
  // RFC 5626 §5.3: a caller reachable only over its connection gets that flow's token in our
  // Record-Route, so requests back to it come down the same connection.
  const callerFlow = recordRoute && toTag === undefined ? incomingFlow(request, info) : undefined;
  const calleeFlow = flow?.flow;
  // §16.6 step 4: a SIPS Record-Route only for a SIPS request (Request-URI or the top Route
  // after step 6); a sip: request over TLS gets sip:…;transport=tls (RFC 5630 §3.1.3).
  const secure = recordRoute && sipsRequest(request);
  const signature = recordRoute ? core.signer.sign(request.callId ?? '', request.from?.tag ?? '') : '';
  const recordRouteOf = (leg: Leg, f: Flow | undefined): string => {
    const uri = legUri(leg, secure);
    const colon = uri.indexOf(':') + 1;
    const user = f === undefined ? '' : `${core.flows.encode(leg, f)}@`;
    return `<${uri.slice(0, colon)}${user}${uri.slice(colon)};lr;${RECORD_ROUTE_SIGNATURE_PARAM}=${signature}>`;
  };
  let inserted = 0;
  if (twoLegs) {
    // RFC 5658: one Record-Route per leg, and (Net::SIP) a Via of the incoming leg, so the
    // response finds its way back to this leg without state.
    if (recordRoute) request.insertHeader('Record-Route', recordRouteOf(inLeg, callerFlow));
    request.insertHeader('Via', inLeg.via(branchOf(core, inLeg, request, loop)));
    inserted++;
  }
  const branch = branchOf(core, outLeg, request, loop);
  if (core.formula === 'netsip' && request.via.some((v) => v.branch?.startsWith(branch) === true)) {
    return refusal(482, 'Loop Detected', 'loop-detected', 'same branch already in a Via', { removeVias: inserted });
  }
  if (recordRoute) {
    // One leg and two flows (client to client): one entry per flow, as RFC 5658 does per leg.
    if (!twoLegs && callerFlow !== undefined && calleeFlow !== undefined) request.insertHeader('Record-Route', recordRouteOf(outLeg, callerFlow));
    request.insertHeader('Record-Route', recordRouteOf(outLeg, calleeFlow ?? (twoLegs ? undefined : callerFlow)));
  }
  request.insertHeader('Via', outLeg.via(branch));
  inserted++;
  ctx.inserted = inserted;
  // Only the media relay makes this step wait; without one it returns at once (no promise).
  if (core.media !== undefined) return withMedia(core, ctx, outLeg, core.media);
  return finishRequest(core, ctx, outLeg);
}

async function withMedia(core: ProxyCore, ctx: RequestContext, outLeg: Leg, media: NonNullable<ProxyCore['media']>): Promise<Refusal | undefined> {
  const failed = await media.request(ctx.request, ctx.inLeg, outLeg);
  if (failed !== undefined) return refusal(503, 'Service Unavailable', 'media-failed', failed, { removeVias: ctx.inserted });
  return finishRequest(core, ctx, outLeg);
}

/** The last edits, and the flow check in the same tick as the send. */
function finishRequest(core: ProxyCore, ctx: RequestContext, outLeg: Leg): Refusal | undefined {
  const { request, flow } = ctx;
  const inserted = ctx.inserted;
  if (core.options.netSipUaHeaders === true) addNetSipUaHeaders(request, outLeg);
  // A flow is used as it is, never dialled: checked again here, in the same tick as the send.
  if (flow !== undefined && flow.connection.closed) {
    const required = flow.flow.required;
    return refusal(required ? 430 : 503, required ? 'Flow Failed' : 'Service Unavailable', 'flow-failed', 'the flow closed', { removeVias: inserted });
  }
  return undefined;
}

/** The stateless branch of our Via for `leg` (RFC 3261 §16.11). */
function branchOf(core: ProxyCore, leg: Leg, request: SipRequest, loop: string): string {
  const base = branchBaseOf(leg);
  return core.formula === 'netsip' ? netSipBranch(base, request) : rfcBranch(base, request, loop);
}

/** §16.6 step 4: the Request-URI or the next Route is a SIPS URI. */
function sipsRequest(request: SipRequest): boolean {
  if (/^sips:/i.test(request.uri)) return true;
  const routes = request.routes;
  return routes.length > 0 && /^sips:/i.test(routes[0]!.uri);
}

/** Net::SIP `Leg::deliver` header injection (reference §3.5), behind `netSipUaHeaders`. */
export function addNetSipUaHeaders(message: SipMessage, leg: Leg): void {
  const method = message.isRequest ? message.method : message.cseq?.method;
  const ok2xx = !message.isRequest && message.status >= 200 && message.status < 300;
  const invite = method === 'INVITE' && (message.isRequest || ok2xx);
  const allowOnly = !message.isRequest && (message.status === 405 || (ok2xx && method === 'OPTIONS'));
  if (!invite && !allowOnly) return;
  if (invite && !message.hasHeader('contact')) {
    const party = message.isRequest ? message.from : message.to;
    const user = party === undefined ? undefined : sipUri(party.uri)?.user;
    const hostPart = leg.contact.slice(leg.contact.indexOf(':') + 1);
    const uri = `${leg.contact.slice(0, leg.contact.indexOf(':'))}:${user === undefined ? '' : `${user}@`}${hostPart}`;
    message.insertHeader('Contact', uri.includes(';') ? `<${uri}>` : uri);
  }
  if (!message.hasHeader('allow')) message.insertHeader('Allow', 'INVITE, ACK, OPTIONS, CANCEL, BYE');
  if (!message.hasHeader('supported')) message.insertHeader('Supported', '');
}
