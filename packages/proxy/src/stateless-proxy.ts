/**
 * The stateless proxy: Net::SIP's StatelessProxy behaviour, following RFC 3261 §16 and
 * §16.11 by default (errors are answered, Max-Forwards 0 is 483, loops are 482) with
 * Net::SIP's ways as options.
 */
import { isIP } from 'node:net';
import { ContactRewriter, netSipLegKey } from '@sipway/contact-rewriter';
import { SipResolver, responseTarget } from '@sipway/sip-leg';
import type { Destination, DestinationResolver, Dispatcher, Leg, ReceiveInfo, Receiver, Transport } from '@sipway/sip-leg';
import { createResponse, formatUri, parseVia, validateMessage } from '@sipway/sip-message';
import type { SipMessage, SipRequest, SipResponse } from '@sipway/sip-message';
import { type BranchFormula, loopHash, loopPartOf, netSipBranch, rfcBranch, statelessToTag } from './branch.js';
import { type ProxyContactRewriter, rewriteContacts, splitScheme, userPart } from './contacts.js';
import { dropChannel, forwardChannel, replyChannel } from './diagnostics.js';
import { ProxyError } from './errors.js';
import { isBroadcastOrMulticast } from './forbidden-address.js';
import { branchBaseOf } from './md5.js';
import { MediaFlow } from './media-flow.js';
import { type LocationService, bestBinding, bindingUri, canonicalAor } from './location.js';
import type { ProxyLogger, StatelessProxyOptions } from './options.js';
import type { ProxyOutcome, ProxyRefusalCode, ProxyRefused } from './outcome.js';
import { canonicalHost, legAt, legHasHost, legNamedBy, sipUri } from './own-legs.js';

const OPTION_NAMES = new Set([
  'dispatcher', 'domains', 'openRelay', 'location', 'resolver', 'contactRewriter', 'contactKey', 'contactCodec',
  'forceRewrite', 'silentDrop', 'maxForwardsCap', 'netSipMaxForwards', 'recordRoute', 'branchFormula', 'supported',
  'answerOptions', 'selectLeg', 'forbiddenDestination', 'netSipUaHeaders', 'logger', 'mediaRelay', 'forceMedia',
]);
const TRANSPORTS = new Set<Transport>(['udp', 'tcp', 'tls', 'ws', 'wss']);

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
  #resolver: DestinationResolver | undefined;
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
  readonly #media: MediaFlow | undefined;
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
    if (options.mediaRelay !== undefined && (typeof options.mediaRelay.offer !== 'function' || typeof options.mediaRelay.answer !== 'function')) {
      throw invalid('mediaRelay must have offer, answer and delete');
    }
    this.#media = options.mediaRelay === undefined ? undefined : new MediaFlow(options.mediaRelay, options.forceMedia ?? false, options.logger);
  }

  /** The contact rewriter in use (the default one is made on first use). */
  get contactRewriter(): ProxyContactRewriter {
    this.#rewriter ??= new ContactRewriter<Leg>({
      legs: () => this.#dispatcher.legs,
      legKey: (leg) => netSipLegKey({ proto: leg.transport, addr: leg.address, port: leg.port }),
      legContact: (leg) => leg.contact,
      key: this.#options.contactKey,
      codec: this.#options.contactCodec,
      logger: { warn: (fields, message) => this.#logger?.warn?.(message, fields) },
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
      this.#logger?.error?.('proxy failed on a message', { error: String(error), callId: message.callId });
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
    if (!result.ok) return this.#drop(response, info, result.status, result.reason, 'delivery-failed', result.reason);
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

    // §16.4: a strict router put our Record-Route URI into the Request-URI.
    let routes = request.routes;
    if (routes.length > 0 && received !== undefined && received.user === undefined && legNamedBy(received, legs) !== undefined) {
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
      const port = maddrUri.port ?? (transport === 'tls' || transport === 'wss' ? 5061 : 5060);
      if (transport === inLeg.transport && port === inLeg.port) {
        const params = Object.fromEntries(Object.entries(maddrUri.params).filter(([k]) => k !== 'maddr' && k !== 'transport'));
        // Fields one by one: the parsed URI may keep some of them behind getters.
        const { scheme, user, password, host, hostType, headers, raw } = maddrUri;
        request.uri = formatUri({ scheme, user, password, host, hostType, port: undefined, params, headers, raw });
      }
    }
    // §16.4: remove the top Route entries that name us (two with double Record-Route, RFC 5658).
    const ownRoutes: Leg[] = [];
    while (routes.length > 0) {
      const uri = sipUri(routes[0]!.uri);
      const leg = uri === undefined ? undefined : legNamedBy(uri, legs);
      if (leg === undefined) break;
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

    // Relaying policy: never an open relay unless told so.
    const fromUri = request.from === undefined ? undefined : sipUri(request.from.uri);
    const allowed =
      this.#openRelay ||
      this.#wildcard ||
      restored ||
      (ownRoutes.length > 0 && toTag !== undefined) ||
      (received !== undefined && this.#serves(received.host)) ||
      (fromUri !== undefined && this.#serves(fromUri.host));
    if (!allowed) return this.#refuse(request, info, 403, 'Forbidden', 'forbidden-relay', 'relaying to a foreign domain is not allowed');

    // §16.5 / §16.6 steps 6–7: the target and next hop.
    let nextHop: string | undefined;
    let flow: Destination | undefined;
    routes = request.routes;
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
      if (target !== undefined && target.user !== undefined && (this.#wildcard || this.#serves(target.host))) {
        const aor = canonicalAor(target);
        let bindings;
        try {
          bindings = await this.#location.lookup(aor);
        } catch (error) {
          // A failing store is a temporary condition of ours (RFC 3261 §21.5.4), not the callee's.
          return this.#refuse(request, info, 503, 'Service Unavailable', 'location-failed', `lookup of ${aor} failed: ${String(error)}`);
        }
        const best = bestBinding(bindings);
        if (best !== undefined) {
          request.uri = bindingUri(best.contact);
          const path = best.path ?? [];
          for (let i = path.length - 1; i >= 0; i--) request.insertHeader('Route', path[i]!);
          nextHop = path.length > 0 ? bindingUri(path[0]!) : request.uri;
          // RFC 7118 §5: a WebSocket client registers a made-up `.invalid` host; it can only be
          // reached over the connection it registered on, which the binding's source names.
          const contactHost = sipUri(request.uri)?.host.toLowerCase();
          if (path.length === 0 && best.source !== undefined && contactHost !== undefined && contactHost.endsWith('.invalid')) {
            const { transport, address, port } = best.source;
            if (TRANSPORTS.has(transport as Transport) && isIP(address) !== 0) {
              flow = { transport: transport as Transport, address: canonicalHost(address), port, family: isIP(address) === 6 ? 6 : 4 };
            }
          }
        } else if (this.#serves(target.host)) {
          let known = false;
          try {
            known = (await this.#location.knows?.(aor)) ?? false;
          } catch {
            // Cannot tell: 404 is still true of the bindings.
          }
          return known
            ? this.#refuse(request, info, 480, 'Temporarily Unavailable', 'temporarily-unavailable', `${aor} has no binding`)
            : this.#refuse(request, info, 404, 'Not Found', 'not-found', `${aor} is unknown`);
        }
      }
    }
    nextHop ??= request.uri;

    // Destinations (RFC 3263) and the outgoing leg.
    const found = flow !== undefined ? { ok: true as const, destinations: [flow] } : await this.#destinations(nextHop, legs);
    if (!found.ok) return this.#refuse(request, info, found.status, found.reason, found.status === 404 ? 'not-found' : 'no-route', found.detail);
    const destinations = [...found.destinations.filter((d) => d.transport === inLeg.transport), ...found.destinations.filter((d) => d.transport !== inLeg.transport)];
    let outLeg: Leg | undefined;
    let destination: Destination | undefined;
    let forbiddenSeen = false;
    for (const d of destinations) {
      if (this.#forbidden(d.address)) {
        forbiddenSeen = true;
        continue;
      }
      const leg = this.#pickLeg(d, forcedLeg, request, info);
      if (leg !== undefined) {
        outLeg = leg;
        destination = d;
        break;
      }
    }
    if (outLeg === undefined || destination === undefined) {
      return forbiddenSeen
        ? this.#refuse(request, info, 403, 'Forbidden', 'forbidden-destination', `${nextHop} is a broadcast or multicast address`)
        : this.#refuse(request, info, 503, 'Service Unavailable', 'no-route', `no leg can reach ${nextHop}`);
    }
    // A destination that is one of our own legs would loop until Max-Forwards runs out (Net::SIP §1.8).
    if (legAt(destination, legs) !== undefined) {
      const targetUri = sipUri(request.uri);
      if (request.method === 'OPTIONS' && this.#answerOptions && targetUri?.user === undefined) return this.#answerOptionsRequest(request, info);
      return this.#refuse(request, info, 482, 'Loop Detected', 'loop-detected', `${nextHop} is this proxy`);
    }

    // §16.6 steps 3–8: edit the request and send it.
    const twoLegs = outLeg !== inLeg;
    if (mfPresent) request.setHeader('Max-Forwards', String(newMf));
    else request.appendHeader('Max-Forwards', String(newMf));
    if (twoLegs || this.#forceRewrite) rewriteContacts(request, this.contactRewriter, inLeg, outLeg);
    const recordRoute = this.#recordRoute && request.method !== 'REGISTER';
    let inserted = 0;
    if (twoLegs) {
      // RFC 5658: one Record-Route per leg, and (Net::SIP) a Via of the incoming leg, so the
      // response finds its way back to this leg without state.
      if (recordRoute) request.insertHeader('Record-Route', inLeg.recordRoute);
      request.insertHeader('Via', inLeg.via(this.#branch(inLeg, request, loop)));
      inserted++;
    }
    const branch = this.#branch(outLeg, request, loop);
    if (this.#formula === 'netsip' && request.via.some((v) => v.branch?.startsWith(branch) === true)) {
      return this.#refuse(request, info, 482, 'Loop Detected', 'loop-detected', 'same branch already in a Via', { removeVias: inserted });
    }
    if (recordRoute) request.insertHeader('Record-Route', outLeg.recordRoute);
    request.insertHeader('Via', outLeg.via(branch));
    inserted++;
    if (this.#media !== undefined) {
      const failed = await this.#media.request(request, inLeg, outLeg);
      if (failed !== undefined) return this.#refuse(request, info, 503, 'Service Unavailable', 'media-failed', failed, { removeVias: inserted });
    }
    if (this.#options.netSipUaHeaders === true) addNetSipUaHeaders(request, outLeg);
    const result = await this.#dispatcher.deliver(request, { destination, leg: outLeg });
    if (!result.ok) {
      // §16.9: a transport error counts as a 503 (408 for a connect timeout) from that target.
      return this.#refuse(request, info, result.status, result.reason, 'delivery-failed', result.reason, { removeVias: inserted });
    }
    this.#forwarded(request, info, result.leg, result.destination);
    return { ok: true, message: request, leg: result.leg, destination: result.destination, connection: result.connection };
  }

  #branch(leg: Leg, request: SipRequest, loop: string): string {
    const base = branchBaseOf(leg);
    return this.#formula === 'netsip' ? netSipBranch(base, request) : rfcBranch(base, request, loop);
  }

  /** True for a served domain or one of our legs' addresses and host names. */
  #serves(host: string): boolean {
    const h = canonicalHost(host);
    return this.#domains.has(h) || this.#dispatcher.legs.some((leg) => legHasHost(leg, h));
  }

  #forbidden(address: string): boolean {
    return isBroadcastOrMulticast(address) || (this.#options.forbiddenDestination?.(address) ?? false);
  }

  #pickLeg(destination: Destination, forced: Leg | undefined, request: SipRequest, info: ReceiveInfo): Leg | undefined {
    if (forced !== undefined) return forced.state === 'listening' && forced.canDeliverTo(destination) ? forced : undefined;
    if (this.#options.selectLeg !== undefined) return this.#options.selectLeg(destination, request, info);
    return this.#dispatcher.selectLeg(destination);
  }

  /** IP literals (and maddr) directly, RFC 3263 §4.1/§4.2; names through the resolver. */
  async #destinations(
    uriText: string,
    legs: readonly Leg[],
  ): Promise<{ ok: true; destinations: Destination[] } | { ok: false; status: number; reason: string; detail: string }> {
    const uri = sipUri(uriText);
    if (uri !== undefined) {
      const maddr = typeof uri.params.maddr === 'string' && isIP(uri.params.maddr.replace(/^\[|\]$/g, '')) !== 0 ? uri.params.maddr.replace(/^\[|\]$/g, '') : undefined;
      const host = maddr ?? uri.host;
      const family = isIP(host);
      if (family !== 0) {
        const param = typeof uri.params.transport === 'string' ? uri.params.transport.toLowerCase() : undefined;
        const transport = (param ?? (uri.scheme === 'sips' ? 'tls' : 'udp')) as Transport;
        if (!TRANSPORTS.has(transport)) return { ok: false, status: 503, reason: 'Service Unavailable', detail: `transport ${param} is not supported` };
        const port = uri.port ?? (transport === 'tls' || transport === 'wss' ? 5061 : 5060);
        return { ok: true, destinations: [{ transport, address: canonicalHost(host), port, family: family === 6 ? 6 : 4 }] };
      }
    }
    this.#resolver ??= new SipResolver();
    const transports = [...new Set(legs.map((leg) => leg.transport))];
    try {
      const r = await this.#resolver.resolve(uriText, { transports });
      if (!r.ok) return { ok: false, status: r.status, reason: r.reason, detail: `resolving ${uriText} failed` };
      return { ok: true, destinations: r.destinations };
    } catch (error) {
      return { ok: false, status: 503, reason: 'Service Unavailable', detail: `resolving ${uriText} failed: ${String(error)}` };
    }
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
      this.#dropped(request, info, code, `${detail}; answer ${status} not sent: ${sent.reason}`);
      return outcome;
    }
    this.#logger?.debug?.('answered request', { status, code, detail, callId: request.callId });
    if (replyChannel.hasSubscribers) replyChannel.publish({ request, response, info, code });
    outcome.response = response;
    return outcome;
  }

  #drop(message: SipMessage, info: ReceiveInfo, status: number, reason: string, code: ProxyRefusalCode, detail: string): ProxyRefused {
    this.#dropped(message, info, code, detail);
    return { ok: false, status, reason, code, detail };
  }

  #dropped(message: SipMessage, info: ReceiveInfo, code: string, detail: string): void {
    this.#logger?.debug?.('dropped message', { code, detail, callId: message.callId });
    if (dropChannel.hasSubscribers) dropChannel.publish({ message, info, code, reason: detail });
  }

  #forwarded(message: SipMessage, info: ReceiveInfo, leg: Leg, destination: Destination): void {
    if (forwardChannel.hasSubscribers) forwardChannel.publish({ message, info, leg, destination });
  }
}
