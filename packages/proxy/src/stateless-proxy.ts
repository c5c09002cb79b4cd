/**
 * The stateless proxy: Net::SIP's StatelessProxy behaviour, following RFC 3261 §16 and
 * §16.11 by default (errors are answered, Max-Forwards 0 is 483, loops are 482) with
 * Net::SIP's ways as options.
 */
import { ContactRewriter, netSipLegKey } from '@sipway/contact-rewriter';
import { responseTarget } from '@sipway/sip-leg';
import type { Destination, DestinationResolver, Dispatcher, Leg, ReceiveInfo, Receiver } from '@sipway/sip-leg';
import { canonicalAor, canonicalHost, createResponse, formatUri, parseVia, statelessToTag, uriDefaultPort, validateMessage } from '@sipway/sip-message';
import type { SipMessage, SipRequest, SipResponse } from '@sipway/sip-message';
import { type BranchFormula, loopHash, loopPartOf, netSipBranch, rfcBranch } from './branch.js';
import { type ProxyContactRewriter, rewriteContacts, splitScheme, userPart } from './contacts.js';
import { dropChannel, forwardChannel, replyChannel } from './diagnostics.js';
import { ProxyError } from './errors.js';
import { isBroadcastOrMulticast } from './forbidden-address.js';
import { type Flow, FlowTokens } from './flow-token.js';
import { type FlowTarget, arrivedOn, bindingFlow, incomingFlow, openFlow } from './flows.js';
import { CidrList } from './address-ranges.js';
import { DestinationPolicy } from './destination-policy.js';
import { RECORD_ROUTE_SIGNATURE_PARAM, RecordRouteSigner, recordRouteKey } from './record-route-signature.js';
import { RecentRelays } from './relay-policy.js';
import { branchBaseOf } from './md5.js';
import { MediaFlow } from './media-flow.js';
import { type LocationService, bestBinding, bindingUri } from './location.js';
import type { ProxyLogger, StatelessProxyOptions } from './options.js';
import type { ProxyOutcome, ProxyRefusalCode, ProxyRefused } from './outcome.js';
import { legHasHost, legNamedBy, legUri, sipUri } from './own-legs.js';
import type { SipUri } from '@sipway/sip-message';

const OPTION_NAMES = new Set([
  'dispatcher', 'domains', 'openRelay', 'location', 'resolver', 'contactRewriter', 'contactKey', 'contactCodec',
  'forceRewrite', 'silentDrop', 'maxForwardsCap', 'netSipMaxForwards', 'recordRoute', 'branchFormula', 'supported',
  'answerOptions', 'selectLeg', 'forbiddenDestination', 'netSipUaHeaders', 'flowKey', 'logger', 'mediaRelay', 'forceMedia',
  'recordRouteKey', 'relayAllow', 'allowDestinations', 'allowPrivate',
]);

/** What §16.6's edits need from the routing steps before them; `inserted` counts the Vias they added. */
interface EditContext {
  mfPresent: boolean;
  newMf: number;
  toTag: string | undefined;
  loop: string;
  flow: FlowTarget | undefined;
  inserted: number;
}

interface RefuseOptions {
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Our own Vias already inserted on top, to leave out of the answer. */
  removeVias?: number;
}

function parseViaBranch(raw: string): string | undefined {
  try {
    return parseVia(raw).branch;
  } catch {
    return undefined;
  }
}

/** Net::SIP `Leg::deliver` header injection (reference §3.5), behind `netSipUaHeaders`. */
function addNetSipUaHeaders(message: SipMessage, leg: Leg): void {
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

function invalid(message: string): ProxyError {
  return new ProxyError('PROXY_INVALID_OPTIONS', `StatelessProxy: ${message}`);
}

/**
 * A stateless SIP proxy for one or more legs: validates, routes (Route, Contact tokens, the
 * location service, RFC 3263), inserts Via and Record-Route, rewrites Contacts between legs and
 * forwards each message exactly once. It keeps no transaction state: the same input always
 * produces the same output, which is what lets retransmissions, CANCEL and non-2xx ACK find the
 * same path (RFC 3261 §16.11).
 *
 * @see RFC 3261 §16 (proxy behaviour), §16.11 (stateless proxy), RFC 5658 (double Record-Route)
 * @example
 * const proxy = new StatelessProxy({ dispatcher, domains: ['example.com'], location: registrar });
 * dispatcher.setReceiver(proxy);
 */
export class StatelessProxy implements Receiver {
  readonly #dispatcher: Dispatcher;
  readonly #domains: Set<string>;
  readonly #wildcard: boolean;
  readonly #openRelay: boolean;
  readonly #location: LocationService | undefined;
  readonly #resolver: DestinationResolver | undefined;
  #rewriter: ProxyContactRewriter | undefined;
  readonly #options: StatelessProxyOptions;
  readonly #forceRewrite: boolean;
  readonly #silentDrop: boolean;
  readonly #cap: number;
  readonly #netSipMaxForwards: boolean;
  readonly #recordRoute: boolean;
  readonly #formula: BranchFormula;
  readonly #supported: Set<string>;
  readonly #answerOptions: boolean;
  readonly #logger: ProxyLogger | undefined;
  readonly #flows: FlowTokens;
  readonly #media: MediaFlow | undefined;
  readonly #destinationPolicy: DestinationPolicy;
  readonly #relayAllow: CidrList;
  readonly #signer: RecordRouteSigner;
  readonly #recent = new RecentRelays();
  #closed = false;

  constructor(options: StatelessProxyOptions) {
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    for (const name of Object.keys(options)) if (!OPTION_NAMES.has(name)) throw invalid(`unknown option "${name}"`);
    if (options.dispatcher === undefined || typeof options.dispatcher.deliver !== 'function') throw invalid('no dispatcher given');
    const cap = options.maxForwardsCap ?? 70;
    if (!Number.isInteger(cap) || cap < 1 || cap > 255) throw invalid('maxForwardsCap must be an integer from 1 to 255');
    const formula = options.branchFormula ?? 'rfc';
    if (formula !== 'rfc' && formula !== 'netsip') throw invalid(`branchFormula must be 'rfc' or 'netsip'`);
    if (options.domains !== undefined && (!Array.isArray(options.domains) || options.domains.some((d) => typeof d !== 'string' || d.trim() === ''))) {
      throw invalid('domains must be a list of domain names');
    }
    if (options.location !== undefined && typeof options.location.lookup !== 'function') throw invalid('location must have lookup(aor)');
    if (options.flowKey !== undefined && (!(options.flowKey instanceof Uint8Array) || options.flowKey.length < 16)) throw invalid('flowKey must be at least 16 bytes');
    this.#options = options;
    this.#dispatcher = options.dispatcher;
    const domains = (options.domains ?? []).map((d) => canonicalHost(d.trim().replace(/\.$/, '')));
    this.#wildcard = domains.includes('*');
    this.#domains = new Set(domains.filter((d) => d !== '*'));
    this.#openRelay = options.openRelay ?? false;
    this.#location = options.location;
    this.#resolver = options.resolver;
    this.#rewriter = options.contactRewriter;
    this.#forceRewrite = options.forceRewrite ?? false;
    this.#silentDrop = options.silentDrop ?? false;
    this.#cap = cap;
    this.#netSipMaxForwards = options.netSipMaxForwards ?? false;
    this.#recordRoute = options.recordRoute ?? true;
    this.#formula = formula;
    this.#supported = new Set((options.supported ?? []).map((t) => t.toLowerCase()));
    this.#answerOptions = options.answerOptions ?? true;
    this.#logger = options.logger;
    this.#flows = new FlowTokens(options.flowKey);
    if (options.mediaRelay !== undefined && (typeof options.mediaRelay.offer !== 'function' || typeof options.mediaRelay.answer !== 'function')) {
      throw invalid('mediaRelay must have offer, answer and delete');
    }
    this.#media = options.mediaRelay === undefined ? undefined : new MediaFlow(options.mediaRelay, options.forceMedia ?? false, options.logger);
    this.#relayAllow = new CidrList(options.relayAllow ?? [], 'relayAllow');
    this.#destinationPolicy = new DestinationPolicy({
      legs: () => this.#dispatcher.legs,
      allow: options.allowDestinations ?? [],
      allowPrivate: options.allowPrivate ?? false,
      forbidden: options.forbiddenDestination,
    });
    let rrKey;
    try {
      rrKey = recordRouteKey(options.recordRouteKey, options.contactKey);
    } catch (error) {
      throw invalid(error instanceof Error ? error.message : String(error));
    }
    if (rrKey.source === 'random' && this.#recordRoute) {
      this.#logger?.warn?.(
        { option: 'recordRouteKey' },
        'no recordRouteKey or contact key configured: Record-Route entries are signed with a random per-process key; ' +
          'in-dialog requests through another node or after a restart lose that evidence',
      );
    }
    this.#signer = new RecordRouteSigner(rrKey.key);
  }

  /** The contact rewriter in use (the default one is made on first use). */
  get contactRewriter(): ProxyContactRewriter {
    this.#rewriter ??= new ContactRewriter<Leg>({
      legs: () => this.#dispatcher.legs,
      legKey: (leg) => netSipLegKey({ proto: leg.transport, addr: leg.address, port: leg.port }),
      legContact: (leg) => leg.contact,
      key: this.#options.contactKey,
      codec: this.#options.contactCodec,
      logger: { warn: (fields, message) => this.#logger?.warn?.(fields, message) },
    });
    return this.#rewriter;
  }

  /**
   * Receiver entry: takes every message (returns true) and handles it in the background;
   * failures are logged and published, never thrown. Returns false once closed.
   */
  receive(message: SipMessage, info: ReceiveInfo): boolean {
    if (this.#closed) return false;
    void this.route(message, info);
    return true;
  }

  /**
   * Handle one received message and say what happened: forwarded (`ok: true`, with leg and
   * destination) or not (`ok: false` with the SIP status that applies, and the response when
   * one was sent). The message object is edited in place.
   */
  async route(message: SipMessage, info: ReceiveInfo): Promise<ProxyOutcome> {
    if (this.#closed) return { ok: false, status: 503, reason: 'Service Unavailable', code: 'closed', detail: 'proxy is closed' };
    try {
      return await (message.isRequest ? this.#request(message, info) : this.#response(message, info));
    } catch (error) {
      // A bug or a throwing hook (selectLeg, location): the message is dropped, never the process.
      this.#logger?.error?.({ error: String(error), callId: message.callId }, 'proxy failed on a message');
      this.#dropped(message, info, 'internal-error', String(error));
      return { ok: false, status: 500, reason: 'Server Internal Error', code: 'internal-error', detail: String(error) };
    }
  }

  /** Stop taking messages (idempotent). Legs belong to the dispatcher and stay open. */
  close(): void {
    this.#closed = true;
  }

  // ---- responses (RFC 3261 §16.7 as far as a stateless proxy goes, §16.11, §18.2.2) ----

  async #response(response: SipResponse, info: ReceiveInfo): Promise<ProxyOutcome> {
    const legs = this.#dispatcher.legs;
    let top;
    try {
      top = response.topVia;
    } catch {
      return this.#drop(response, info, 400, 'Bad Request', 'invalid-message', 'malformed top Via');
    }
    if (top === undefined) return this.#drop(response, info, 400, 'Bad Request', 'no-via', 'response without Via');
    const branch = top.branch;
    const mine = branch === undefined ? undefined : legs.find((leg) => branch.startsWith(branchBaseOf(leg)));
    if (mine === undefined) return this.#drop(response, info, 400, 'Bad Request', 'not-our-response', 'top Via is not ours');
    response.removeHeaderValue('via', 0);
    let back = mine;
    let next;
    try {
      next = response.topVia;
    } catch {
      return this.#drop(response, info, 400, 'Bad Request', 'invalid-message', 'malformed second Via');
    }
    // Two-leg mode: the Via we added for the leg the request came in on (Net::SIP §1.3).
    const nextBranch = next?.branch;
    const inner = nextBranch === undefined ? undefined : legs.find((leg) => nextBranch.startsWith(branchBaseOf(leg)));
    if (inner !== undefined) {
      back = inner;
      response.removeHeaderValue('via', 0);
      next = response.topVia;
    }
    if (next === undefined) return this.#drop(response, info, 400, 'Bad Request', 'no-via', 'no Via left to answer to');
    const target = responseTarget(response.getHeader('via'));
    if (target.kind === 'address' && this.#forbidden(target.destination.address)) {
      return this.#drop(response, info, 403, 'Forbidden', 'forbidden-destination', `Via names ${target.destination.address}`);
    }
    if (back !== info.leg || this.#forceRewrite) rewriteContacts(response, this.contactRewriter, info.leg, back);
    if (this.#media !== undefined) {
      // Net::SIP drops a message whose media cannot be set up; the callee retransmits its answer.
      const failed = await this.#media.response(response, info.leg, back);
      if (failed !== undefined) return this.#drop(response, info, 503, 'Service Unavailable', 'media-failed', failed);
    }
    if (this.#options.netSipUaHeaders === true) addNetSipUaHeaders(response, back);
    const result = await this.#dispatcher.deliver(response, { leg: back });
    if (!result.ok) return this.#drop(response, info, result.status, result.reason, 'delivery-failed', result.detail);
    this.#forwarded(response, info, result.leg, result.destination);
    return { ok: true, message: response, leg: result.leg, destination: result.destination, connection: result.connection };
  }

  // ---- requests (RFC 3261 §16.3–§16.6) ----

  async #request(request: SipRequest, info: ReceiveInfo): Promise<ProxyOutcome> {
    const inLeg = info.leg;
    const legs = this.#dispatcher.legs;

    // §16.3 steps 1–2: syntax, mandatory headers, URI scheme.
    const problems = validateMessage(request);
    if (problems.length > 0) {
      const p = problems.find((x) => x.status === 505) ?? problems.find((x) => x.status === 416) ?? problems[0]!;
      return this.#refuse(request, info, p.status, p.reason, p.status === 416 ? 'unsupported-scheme' : 'invalid-message', p.message);
    }

    // The ACK of an error this proxy answered itself carries the To tag it made (same top Via
    // branch, From tag, Call-ID and CSeq number as the request, RFC 3261 §17.1.1.3): that
    // transaction ended here, so the ACK does too, instead of travelling on to the callee.
    if (request.method === 'ACK') {
      const tag = request.to?.tag;
      if (tag !== undefined && tag === statelessToTag(request)) {
        return this.#drop(request, info, 200, 'OK', 'own-ack', 'ACK of an answer of this proxy');
      }
    }

    // §16.3 step 3 / §16.6 step 3: Max-Forwards.
    const mfPresent = request.hasHeader('max-forwards');
    const mf = mfPresent ? request.maxForwards : undefined;
    let newMf: number;
    if (this.#netSipMaxForwards) {
      // Net::SIP Leg::forward_incoming: 0, absent and > cap all count as the cap.
      const v = (mf === undefined || mf === 0 || mf > this.#cap ? this.#cap : mf) - 1;
      if (v <= 0) return this.#refuse(request, info, 483, 'Too Many Hops', 'too-many-hops', 'Max-Forwards exhausted');
      newMf = v;
    } else if (mf === undefined) {
      newMf = Math.min(70, this.#cap);
    } else if (mf === 0) {
      if (request.method === 'OPTIONS' && this.#answerOptions) return this.#answerOptionsRequest(request, info);
      return this.#refuse(request, info, 483, 'Too Many Hops', 'too-many-hops', 'Max-Forwards is 0');
    } else {
      newMf = Math.min(mf, this.#cap) - 1;
    }

    // §16.3 step 5: Proxy-Require.
    const required = request.getHeaders('proxy-require').flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t.length > 0);
    const unsupported = required.filter((t) => !this.#supported.has(t.toLowerCase()));
    if (unsupported.length > 0) {
      return this.#refuse(request, info, 420, 'Bad Extension', 'bad-extension', `unsupported ${unsupported.join(', ')}`, {
        headers: [['Unsupported', unsupported.join(', ')]],
      });
    }

    const receivedUri = request.uri;
    const received = sipUri(receivedUri);
    const toTag = request.to?.tag;

    // Signatures of our own Record-Route entries coming back (Route or strict-router Request-URI).
    const signatures: string[] = [];
    // §16.4: a strict router put our Record-Route URI into the Request-URI.
    let routes = request.routes;
    if (routes.length > 0 && received !== undefined && received.user === undefined && legNamedBy(received, legs) !== undefined) {
      const sig = received.params[RECORD_ROUTE_SIGNATURE_PARAM];
      if (typeof sig === 'string') signatures.push(sig);
      const last = routes[routes.length - 1]!;
      request.uri = last.uri;
      request.removeHeaderValue('route', routes.length - 1);
      routes = request.routes;
    }
    // §16.4: a maddr naming us, reached on the port and transport the URI says, is stripped
    // together with that port and transport; processing goes on as if they were absent.
    const maddrUri = sipUri(request.uri);
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
    // §16.4: remove the top Route entries that name us (two with double Record-Route, RFC 5658).
    const ownRoutes: Leg[] = [];
    // RFC 5626 §5.3: flow tokens in our own Route entries, with the leg each one names.
    let routeFlows: Array<{ leg: Leg; flow: Flow }> | undefined;
    while (routes.length > 0) {
      const uri = sipUri(routes[0]!.uri);
      const leg = uri === undefined ? undefined : legNamedBy(uri, legs);
      if (leg === undefined) break;
      if (uri!.user !== undefined) {
        const read = this.#flows.decode(uri!.user, leg);
        if (read.kind === 'forged') return this.#refuse(request, info, 403, 'Forbidden', 'forged-flow-token', 'flow token in Route does not verify');
        if (read.kind === 'flow') (routeFlows ??= []).push({ leg, flow: read.flow });
      }
      const sig = uri!.params[RECORD_ROUTE_SIGNATURE_PARAM];
      if (typeof sig === 'string') signatures.push(sig);
      request.removeHeaderValue('route', 0);
      ownRoutes.push(leg);
      routes = request.routes;
    }
    let forcedLeg: Leg | undefined;
    const lastOwn = ownRoutes[ownRoutes.length - 1];
    if (lastOwn !== undefined && (ownRoutes.length > 1 || lastOwn !== inLeg)) forcedLeg = lastOwn;

    // Net::SIP §1.4 step 1: a Request-URI carrying one of our Contact tokens goes back to the
    // original contact, out of the leg that contact came in on.
    let restored = false;
    const current = splitScheme(request.uri);
    const user = current === undefined ? undefined : userPart(current.rest);
    if (current !== undefined && user !== undefined && /^\w+$/.test(user) && this.contactRewriter.isToken(user)) {
      const back = this.contactRewriter.decode(user, inLeg);
      if (back !== undefined) {
        request.uri = `${current.scheme}:${back.contact}`;
        forcedLeg = back.leg ?? forcedLeg;
        restored = true;
      }
    }

    // §16.3 step 4: a Via of ours with the same loop part means this request was here before.
    const loop = loopHash(request, receivedUri);
    if (this.#formula === 'rfc') {
      // Only a Via holding the loop hash can match: a substring test spares parsing the others.
      for (const raw of request.getHeaders('via')) {
        if (!raw.includes(loop)) continue;
        const b = parseViaBranch(raw);
        if (b === undefined) continue;
        if (legs.some((leg) => loopPartOf(b, branchBaseOf(leg)) === loop)) {
          return this.#refuse(request, info, 482, 'Loop Detected', 'loop-detected', 'request already passed this proxy');
        }
      }
    }

    // Relay policy: the target is ours to serve, or the request shows it may go elsewhere.
    // From is never evidence: anyone can write any From.
    if (!this.#relayAllowed(request, info, receivedUri, restored, signatures, toTag)) {
      return this.#refuse(request, info, 403, 'Forbidden', 'forbidden-relay', 'relaying to a target this proxy does not serve is not allowed');
    }

    // §16.5 / §16.6 steps 6–7: the target and next hop.
    let nextHop: string | undefined;
    let flow: FlowTarget | undefined;
    let sourceDestination: Destination | undefined;
    // The target came from a registered binding: the registrar vouches for its address.
    let fromBinding = false;
    routes = request.routes;
    if (routes.length === 0 && routeFlows !== undefined) {
      // RFC 5626 §5.3: the last token of ours that is not the sender's own flow names where the
      // request goes: down that connection (never to DNS), or 430 when a required flow is gone.
      const named = routeFlows.filter((r) => !arrivedOn(r.flow, r.leg, info)).pop();
      if (named !== undefined) {
        flow = openFlow(legs, named.leg.transport, named.flow, named.leg);
        if (flow === undefined && named.flow.required) {
          return this.#refuse(request, info, 430, 'Flow Failed', 'flow-failed', `flow ${named.flow.address}:${named.flow.port} on ${named.leg.transport} is gone`);
        }
      }
    }
    if (routes.length > 0) {
      const first = routes[0]!;
      const firstUri = sipUri(first.uri);
      if (firstUri !== undefined && firstUri.params.lr === undefined) {
        // §16.6 step 7: the next hop is a strict router.
        request.appendHeader('Route', `<${request.uri}>`);
        request.uri = first.uri;
        request.removeHeaderValue('route', 0);
      }
      nextHop = firstUri !== undefined && firstUri.params.lr === undefined ? request.uri : first.uri;
    } else if (!restored && (toTag === undefined || request.method === 'ACK') && this.#location !== undefined) {
      // Outside a dialog only; a non-2xx ACK (To tag from the response) carries the INVITE's
      // Request-URI and must follow the INVITE to the same binding (RFC 3261 §17.1.1.3).
      const target = sipUri(request.uri);
      // §16.4/§19.1.4: a URI is ours by host *and* port and transport; a URI with one of our
      // addresses and another port names another element on our host and is forwarded as is.
      const served = target !== undefined && this.#servesUri(target);
      if (target !== undefined && target.user !== undefined && (served || (this.#wildcard && !this.#isOwnHost(target.host)))) {
        const aor = canonicalAor(target) ?? request.uri;
        let bindings;
        try {
          bindings = await this.#location.lookup(aor);
        } catch (error) {
          // A failing store is a temporary condition of ours (RFC 3261 §21.5.4), not the callee's.
          return this.#refuse(request, info, 503, 'Service Unavailable', 'location-failed', `lookup of ${aor} failed: ${String(error)}`);
        }
        // RFC 5626 §5.2: a binding reachable only over a connection that closed is skipped.
        const flows = bindings.map((b) => bindingFlow(b, legs));
        const live = bindings.filter((_, i) => flows[i]!.kind !== 'dead');
        const best = bestBinding(live);
        if (best !== undefined) {
          fromBinding = true;
          request.uri = bindingUri(best.contact);
          const path = best.path ?? [];
          for (let i = path.length - 1; i >= 0; i--) request.insertHeader('Route', path[i]!);
          nextHop = path.length > 0 ? bindingUri(path[0]!) : request.uri;
          // RFC 7118 §5, RFC 5626 §5.3: a WebSocket, `.invalid`, outbound or NATed client is
          // reached over the connection it registered on, which the binding's source names.
          const reach = flows[bindings.indexOf(best)]!;
          if (reach.kind === 'flow') flow = reach.target;
          else if (reach.kind === 'source') sourceDestination = reach.destination;
        } else if ((bindings.length > 0 || served) && request.method !== 'ACK') {
          // An ACK is never answered: without a binding it goes on its Request-URI (the 2xx ACK
          // of a dialog whose callee has no binding here, RFC 3261 §17.1.1.3, §13.2.2.4).
          // Bindings that all need a flow which closed: the user exists, it is just not reachable now.
          let known = bindings.length > 0;
          if (!known) {
            try {
              known = (await this.#location.knows?.(aor)) ?? false;
            } catch {
              // Cannot tell: 404 is still true of the bindings.
            }
          }
          return known
            ? this.#refuse(request, info, 480, 'Temporarily Unavailable', 'temporarily-unavailable', `${aor} has no reachable binding`)
            : this.#refuse(request, info, 404, 'Not Found', 'not-found', `${aor} is unknown`);
        }
      }
    }
    nextHop ??= request.uri;

    // §16.6 steps 6–9: the dispatcher picks the destination and the leg (RFC 3263), this proxy
    // edits the request for that leg (steps 3–8) just before it goes.
    const direct = flow?.destination ?? sourceDestination;
    const selectLeg = this.#options.selectLeg;
    const edit: EditContext = { mfPresent, newMf, toTag, loop, flow, inserted: 0 };
    const result = await this.#dispatcher.route<ProxyRefused>(request, {
      uri: nextHop,
      incoming: info,
      ...(direct === undefined ? {} : { destination: direct }),
      ...(flow !== undefined ? { leg: flow.leg, connection: flow.connection } : forcedLeg !== undefined ? { leg: forcedLeg } : {}),
      ...(this.#resolver === undefined ? {} : { resolver: this.#resolver }),
      ...(selectLeg === undefined ? {} : { selectLeg: (d: Destination) => selectLeg(d, request, info) }),
      refuse: (d) => this.#destinationRefusal(request, d.address, fromBinding),
      prepare: (outLeg) => this.#prepare(request, info, outLeg, edit),
    });
    if (result.ok) {
      this.#forwarded(request, info, result.leg, result.destination);
      return { ok: true, message: request, leg: result.leg, destination: result.destination, connection: result.connection };
    }
    switch (result.code) {
      case 'REFUSED':
        return result.refusal;
      case 'OWN_ADDRESS': {
        const targetUri = sipUri(request.uri);
        if (request.method === 'OPTIONS' && this.#answerOptions && targetUri?.user === undefined) return this.#answerOptionsRequest(request, info);
        return this.#refuse(request, info, 482, 'Loop Detected', 'loop-detected', result.detail);
      }
      case 'FORBIDDEN_DESTINATION':
        return this.#refuse(request, info, 403, 'Forbidden', 'forbidden-destination', result.detail);
      case 'NO_LEG':
      case 'NO_DESTINATION':
        return this.#refuse(request, info, result.status, result.reason, 'no-route', result.detail);
      case 'RESOLVE_FAILED':
        return this.#refuse(request, info, result.status, result.reason, result.status === 404 ? 'not-found' : 'no-route', result.detail);
      default:
        // §16.9: a transport error counts as a 503 (408 for a connect timeout) from that target.
        // The reason phrase is the leg's fixed one; what failed (OpenSSL text, addresses) stays in `detail`.
        return this.#refuse(request, info, result.status, result.reason, 'delivery-failed', result.detail, { removeVias: edit.inserted });
    }
  }

  /** §16.6 steps 3–8 for the leg the dispatcher chose: Max-Forwards, Contacts, Record-Route, Via, media. */
  async #prepare(
    request: SipRequest,
    info: ReceiveInfo,
    outLeg: Leg,
    ctx: EditContext,
  ): Promise<ProxyRefused | undefined> {
    const inLeg = info.leg;
    const { flow, toTag, loop } = ctx;
    const twoLegs = outLeg !== inLeg;
    if (ctx.mfPresent) request.setHeader('Max-Forwards', String(ctx.newMf));
    else request.appendHeader('Max-Forwards', String(ctx.newMf));
    if (twoLegs || this.#forceRewrite) rewriteContacts(request, this.contactRewriter, inLeg, outLeg);
    const recordRoute = this.#recordRoute && request.method !== 'REGISTER';
    // RFC 5626 §5.3: a caller reachable only over its connection gets that flow's token in our
    // Record-Route, so requests back to it come down the same connection.
    const callerFlow = recordRoute && toTag === undefined ? incomingFlow(request, info) : undefined;
    const calleeFlow = flow?.flow;
    // §16.6 step 4: a SIPS Record-Route only for a SIPS request (Request-URI or the top Route
    // after step 6); a sip: request over TLS gets sip:…;transport=tls (RFC 5630 §3.1.3).
    const secure = recordRoute && this.#sipsRequest(request);
    const signature = recordRoute ? this.#signer.sign(request.callId ?? '', request.from?.tag ?? '') : '';
    let inserted = 0;
    if (twoLegs) {
      // RFC 5658: one Record-Route per leg, and (Net::SIP) a Via of the incoming leg, so the
      // response finds its way back to this leg without state.
      if (recordRoute) request.insertHeader('Record-Route', this.#recordRouteOf(inLeg, callerFlow, secure, signature));
      request.insertHeader('Via', inLeg.via(this.#branch(inLeg, request, loop)));
      inserted++;
    }
    const branch = this.#branch(outLeg, request, loop);
    if (this.#formula === 'netsip' && request.via.some((v) => v.branch?.startsWith(branch) === true)) {
      return this.#refuse(request, info, 482, 'Loop Detected', 'loop-detected', 'same branch already in a Via', { removeVias: inserted });
    }
    if (recordRoute) {
      // One leg and two flows (client to client): one entry per flow, as RFC 5658 does per leg.
      if (!twoLegs && callerFlow !== undefined && calleeFlow !== undefined) request.insertHeader('Record-Route', this.#recordRouteOf(outLeg, callerFlow, secure, signature));
      request.insertHeader('Record-Route', this.#recordRouteOf(outLeg, calleeFlow ?? (twoLegs ? undefined : callerFlow), secure, signature));
    }
    request.insertHeader('Via', outLeg.via(branch));
    inserted++;
    ctx.inserted = inserted;
    if (this.#media !== undefined) {
      const failed = await this.#media.request(request, inLeg, outLeg);
      if (failed !== undefined) return this.#refuse(request, info, 503, 'Service Unavailable', 'media-failed', failed, { removeVias: inserted });
    }
    if (this.#options.netSipUaHeaders === true) addNetSipUaHeaders(request, outLeg);
    // A flow is used as it is, never dialled: checked again here, in the same tick as the send.
    if (flow !== undefined && flow.connection.closed) {
      return this.#refuse(request, info, flow.flow.required ? 430 : 503, flow.flow.required ? 'Flow Failed' : 'Service Unavailable', 'flow-failed', 'the flow closed', { removeVias: inserted });
    }
    return undefined;
  }

  /** Our Record-Route for `leg`, with the token of `flow` as its user part when given (RFC 5626 §5.3). */

  #branch(leg: Leg, request: SipRequest, loop: string): string {
    const base = branchBaseOf(leg);
    return this.#formula === 'netsip' ? netSipBranch(base, request) : rfcBranch(base, request, loop);
  }

  /**
   * True when the URI is for this proxy to serve: its host is a served domain (domain match,
   * any port), or it names one of our legs by host, port and transport (RFC 3261 §16.4,
   * §19.1.4). A URI with a maddr (one naming us was stripped already) goes where maddr says.
   */
  #servesUri(uri: SipUri): boolean {
    if (typeof uri.params.maddr === 'string') return false;
    return this.#domains.has(canonicalHost(uri.host)) || legNamedBy(uri, this.#dispatcher.legs) !== undefined;
  }

  /** A host that is one of our legs' names or addresses (any port). */
  #isOwnHost(host: string): boolean {
    return this.#dispatcher.legs.some((leg) => legHasHost(leg, host)) || this.#destinationPolicy.isOwnAddress(host);
  }

  /**
   * The relay policy. Allowed: everything with `domains: ['*']` or `openRelay`; a target (first
   * Route left after §16.4, else the Request-URI) this proxy serves; a Request-URI holding one
   * of our Contact tokens; an in-dialog request on a Record-Route we signed; a sender
   * authenticated ahead in the chain or on `relayAllow`; and the CANCEL or non-2xx ACK of an
   * INVITE relayed for one of those senders.
   */
  #relayAllowed(request: SipRequest, info: ReceiveInfo, receivedUri: string, restored: boolean, signatures: readonly string[], toTag: string | undefined): boolean {
    if (this.#wildcard || this.#openRelay || restored) return true;
    const routes = request.routes;
    const target = sipUri(routes.length > 0 ? routes[0]!.uri : request.uri);
    if (target !== undefined && this.#servesUri(target)) return true;
    if (toTag !== undefined && signatures.length > 0) {
      const callId = request.callId ?? '';
      const tags = [request.from?.tag ?? '', toTag];
      if (signatures.some((sig) => this.#signer.verify(sig, callId, tags))) return true;
    }
    if (this.#relayAllow.has(info.source.address)) return true;
    const method = request.method;
    if (method === 'CANCEL' || method === 'ACK') {
      const key = RecentRelays.keyOf(request, receivedUri);
      return key !== undefined && this.#recent.has(key);
    }
    const trusted = info.authenticatedUser !== undefined;
    if (trusted && method === 'INVITE') {
      const key = RecentRelays.keyOf(request, receivedUri);
      if (key !== undefined) this.#recent.add(key);
    }
    return trusted;
  }

  /**
   * Why a destination address is refused (undefined: allowed). Restricted ranges open when the
   * target came from a binding or a binding of the To address-of-record names the address (an
   * in-dialog request to a registered user on such an address).
   */
  async #destinationRefusal(request: SipRequest, address: string, fromBinding: boolean): Promise<string | undefined> {
    const refusal = this.#destinationPolicy.check(address, fromBinding);
    if (refusal === undefined || refusal === 'broadcast-or-multicast' || refusal === 'forbidden') return refusal;
    return (await this.#bindingNames(request, address)) ? undefined : refusal;
  }

  /** True when a binding of the To URI's address-of-record (a served domain, or any with `*`) has this address. */
  async #bindingNames(request: SipRequest, address: string): Promise<boolean> {
    if (this.#location === undefined || request.to === undefined) return false;
    const to = sipUri(request.to.uri);
    if (to === undefined || to.user === undefined || !(this.#wildcard || this.#domains.has(canonicalHost(to.host)))) return false;
    let bindings;
    try {
      bindings = await this.#location.lookup(canonicalAor(to) ?? request.to.uri);
    } catch {
      return false;
    }
    const want = canonicalHost(address);
    return bindings.some((b) => {
      const uri = sipUri(bindingUri(b.contact));
      return (uri !== undefined && canonicalHost(uri.host) === want) || (b.source !== undefined && canonicalHost(b.source.address) === want);
    });
  }

  /** §16.6 step 4: the Request-URI or the next Route is a SIPS URI. */
  #sipsRequest(request: SipRequest): boolean {
    if (/^sips:/i.test(request.uri)) return true;
    const routes = request.routes;
    return routes.length > 0 && /^sips:/i.test(routes[0]!.uri);
  }

  /**
   * Our Record-Route entry for a leg: `sips:` only for a SIPS request (§16.6 step 4), signed for
   * the relay policy, and carrying the flow token when the next requests must go down a flow
   * (RFC 5626 §5.3).
   */
  #recordRouteOf(leg: Leg, flow: Flow | undefined, secure: boolean, signature: string): string {
    const uri = legUri(leg, secure);
    const colon = uri.indexOf(':') + 1;
    const user = flow === undefined ? '' : `${this.#flows.encode(leg, flow)}@`;
    return `<${uri.slice(0, colon)}${user}${uri.slice(colon)};lr;${RECORD_ROUTE_SIGNATURE_PARAM}=${signature}>`;
  }

  #forbidden(address: string): boolean {
    return isBroadcastOrMulticast(address) || (this.#options.forbiddenDestination?.(address) ?? false);
  }

  #answerOptionsRequest(request: SipRequest, info: ReceiveInfo): Promise<ProxyRefused> {
    return this.#refuse(request, info, 200, 'OK', 'answered-options', 'OPTIONS answered by the proxy');
  }

  /** Answer statelessly (never an ACK, never with silentDrop), else just drop. */
  async #refuse(
    request: SipRequest,
    info: ReceiveInfo,
    status: number,
    reason: string,
    code: ProxyRefusalCode,
    detail: string,
    options: RefuseOptions = {},
  ): Promise<ProxyRefused> {
    const outcome: ProxyRefused = { ok: false, status, reason, code, detail };
    if (request.method === 'ACK' || this.#silentDrop || !request.hasHeader('via')) {
      this.#dropped(request, info, code, detail);
      return outcome;
    }
    let response: SipResponse;
    try {
      // RFC 3261 §16.11: a To tag every retransmission of the request gets again.
      response = createResponse(request, status, reason, { toTag: statelessToTag(request), headers: options.headers ?? [] });
      for (let i = 0; i < (options.removeVias ?? 0); i++) response.removeHeaderValue('via', 0);
    } catch (error) {
      this.#dropped(request, info, code, `${detail}; could not build the answer: ${String(error)}`);
      return outcome;
    }
    const target = responseTarget(response.getHeader('via'));
    if (target.kind === 'address' && this.#forbidden(target.destination.address)) {
      this.#dropped(request, info, 'forbidden-destination', `answer would go to ${target.destination.address}`);
      return outcome;
    }
    const sent = await this.#dispatcher.deliver(response, { incoming: info });
    if (!sent.ok) {
      this.#dropped(request, info, code, `${detail}; answer ${status} not sent: ${sent.detail}`);
      return outcome;
    }
    this.#logger?.debug?.({ status, code, detail, callId: request.callId }, 'answered request');
    if (replyChannel.hasSubscribers) replyChannel.publish({ request, response, info, code });
    outcome.response = response;
    return outcome;
  }

  #drop(message: SipMessage, info: ReceiveInfo, status: number, reason: string, code: ProxyRefusalCode, detail: string): ProxyRefused {
    this.#dropped(message, info, code, detail);
    return { ok: false, status, reason, code, detail };
  }

  #dropped(message: SipMessage, info: ReceiveInfo, code: string, detail: string): void {
    this.#logger?.debug?.({ code, detail, callId: message.callId }, 'dropped message');
    if (dropChannel.hasSubscribers) dropChannel.publish({ message, info, code, reason: detail });
  }

  #forwarded(message: SipMessage, info: ReceiveInfo, leg: Leg, destination: Destination): void {
    if (forwardChannel.hasSubscribers) forwardChannel.publish({ message, info, leg, destination });
  }
}
