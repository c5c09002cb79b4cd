/**
 * The stateless proxy: Net::SIP's StatelessProxy behaviour, following RFC 3261 §16 and
 * §16.11 by default (errors are answered, Max-Forwards 0 is 483, loops are 482) with
 * Net::SIP's ways as options. A request goes through the steps of §16.3–§16.6 (modules in
 * `request-steps/`) over one context; where it goes and through which leg is the dispatcher's.
 */
import { ContactRewriter, netSipLegKey } from '@sipway/contact-rewriter';
import { responseTarget, responseTargetOf } from '@sipway/sip-leg';
import type { Destination, DestinationResolver, Dispatcher, Leg, ReceiveInfo, Receiver, RouteOptions } from '@sipway/sip-leg';
import { canonicalHost, createResponse, statelessToTag } from '@sipway/sip-message';
import type { SipMessage, SipRequest, SipResponse } from '@sipway/sip-message';
import type { BranchFormula } from './branch.js';
import { type ProxyContactRewriter, rewriteContacts } from './contacts.js';
import { type ProxyDropEvent, type ProxyForwardEvent, type ProxyReplyEvent, dropChannel, forwardChannel, replyChannel } from './diagnostics.js';
import { ProxyError } from './errors.js';
import { isBroadcastOrMulticast } from './forbidden-address.js';
import { FlowTokens } from './flow-token.js';
import { CidrList } from './address-ranges.js';
import { DestinationPolicy } from './destination-policy.js';
import { RecordRouteSigner, recordRouteKey } from './record-route-signature.js';
import { RecentRelays } from './relay-policy.js';
import { branchBaseOf } from './md5.js';
import { MediaFlow } from './media-flow.js';
import type { LocationService } from './location.js';
import type { ProxyLogger, StatelessProxyOptions } from './options.js';
import type { ProxyOutcome, ProxyRefusalCode, ProxyRefused } from './outcome.js';
import { answerOptions, checkRequest, detectLoop } from './request-steps/check.js';
import { type ProxyCore, type Refusal, type RequestContext, newContext, uriOf } from './request-steps/context.js';
import { addNetSipUaHeaders, editRequest } from './request-steps/edit.js';
import { destinationRefusal, relayPolicy } from './request-steps/relay.js';
import { processRoutes, restoreContactToken } from './request-steps/route-headers.js';
import { determineTarget } from './request-steps/target.js';

const OPTION_NAMES = new Set([
  'dispatcher', 'domains', 'openRelay', 'location', 'resolver', 'contactRewriter', 'contactKey', 'contactCodec', 'contactTokenLifetime',
  'forceRewrite', 'silentDrop', 'maxForwardsCap', 'netSipMaxForwards', 'recordRoute', 'branchFormula', 'supported',
  'answerOptions', 'selectLeg', 'forbiddenDestination', 'netSipUaHeaders', 'flowKey', 'logger', 'mediaRelay', 'forceMedia',
  'recordRouteKey', 'relayAllow', 'allowDestinations', 'allowPrivate',
]);

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
  /** What the request steps read: the configuration above, made once. */
  readonly #core: ProxyCore;
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
    this.#core = {
      dispatcher: this.#dispatcher,
      options,
      domains: this.#domains,
      wildcard: this.#wildcard,
      openRelay: this.#openRelay,
      location: this.#location,
      forceRewrite: this.#forceRewrite,
      cap: this.#cap,
      netSipMaxForwards: this.#netSipMaxForwards,
      recordRoute: this.#recordRoute,
      formula: this.#formula,
      supported: this.#supported,
      answerOptions: this.#answerOptions,
      flows: this.#flows,
      media: this.#media,
      destinationPolicy: this.#destinationPolicy,
      relayAllow: this.#relayAllow,
      signer: this.#signer,
      recent: this.#recent,
      contactRewriter: () => this.contactRewriter,
    };
  }

  /** The contact rewriter in use (the default one is made on first use). */
  get contactRewriter(): ProxyContactRewriter {
    this.#rewriter ??= new ContactRewriter<Leg>({
      legs: () => this.#dispatcher.legs,
      legKey: (leg) => netSipLegKey({ proto: leg.transport, addr: leg.address, port: leg.port }),
      legContact: (leg) => leg.contact,
      key: this.#options.contactKey,
      codec: this.#options.contactCodec,
      tokenLifetime: this.#options.contactTokenLifetime,
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
    const target = responseTarget(next);
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
    const core = this.#core;
    const ctx = newContext(request, info, this.#dispatcher.legs);
    const stop =
      checkRequest(core, ctx) ?? // §16.3 steps 1–3, 5
      processRoutes(core, ctx) ?? // §16.4
      restoreContactToken(core, ctx) ?? // Net::SIP §1.4
      detectLoop(core, ctx) ?? // §16.3 step 4
      relayPolicy(core, ctx) ?? // who may be relayed where
      (await determineTarget(core, ctx)); // §16.5, §16.6 steps 6–7
    if (stop !== undefined) return this.#refuseWith(request, info, stop);
    return this.#forward(ctx);
  }

  /**
   * §16.6 steps 6–9: the dispatcher picks the destination and the leg (RFC 3263, failover),
   * the request is edited for that leg (steps 3–8) just before it goes.
   */
  async #forward(ctx: RequestContext): Promise<ProxyOutcome> {
    const { request, info, flow } = ctx;
    const core = this.#core;
    const options: RouteOptions<Refusal> = {
      uri: ctx.nextHop ?? request.uri,
      incoming: info,
      refuse: (d) => destinationRefusal(core, ctx, d.address),
      prepare: (outLeg) => editRequest(core, ctx, outLeg),
    };
    const direct = flow?.destination ?? ctx.sourceDestination;
    if (direct !== undefined) options.destination = direct;
    if (flow !== undefined) {
      options.leg = flow.leg;
      options.connection = flow.connection;
    } else if (ctx.forcedLeg !== undefined) options.leg = ctx.forcedLeg;
    if (this.#resolver !== undefined) options.resolver = this.#resolver;
    const selectLeg = this.#options.selectLeg;
    const preferred = ctx.preferredLeg;
    if (preferred !== undefined && options.leg === undefined) {
      options.selectLeg = (d: Destination) =>
        preferred.state === 'listening' && preferred.canDeliverTo(d)
          ? preferred
          : selectLeg !== undefined
            ? selectLeg(d, request, info)
            : this.#dispatcher.selectLeg(d);
    } else if (selectLeg !== undefined) options.selectLeg = (d: Destination) => selectLeg(d, request, info);
    const result = await this.#dispatcher.route<Refusal>(request, options);
    if (result.ok) {
      this.#forwarded(request, info, result.leg, result.destination);
      return { ok: true, message: request, leg: result.leg, destination: result.destination, connection: result.connection };
    }
    switch (result.code) {
      case 'REFUSED':
        return this.#refuseWith(request, info, result.refusal);
      case 'OWN_ADDRESS':
        // A destination that is one of our own legs would loop (Net::SIP §1.8); an OPTIONS for us is answered.
        if (request.method === 'OPTIONS' && this.#answerOptions && uriOf(ctx, request.uri)?.user === undefined) return this.#refuseWith(request, info, answerOptions());
        return this.#refuse(request, info, 482, 'Loop Detected', 'loop-detected', result.detail);
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
        return this.#refuse(request, info, result.status, result.reason, 'delivery-failed', result.detail, { removeVias: ctx.inserted });
    }
  }

  #refuseWith(request: SipRequest, info: ReceiveInfo, r: Refusal): Promise<ProxyRefused> {
    if (r.drop === true) return Promise.resolve(this.#drop(request, info, r.status, r.reason, r.code, r.detail));
    return this.#refuse(request, info, r.status, r.reason, r.code, r.detail, r);
  }

  #forbidden(address: string): boolean {
    return isBroadcastOrMulticast(address) || (this.#options.forbiddenDestination?.(address) ?? false);
  }

  /** Answer statelessly (never an ACK, never with silentDrop), else just drop. */
  async #refuse(
    request: SipRequest,
    info: ReceiveInfo,
    status: number,
    reason: string,
    code: ProxyRefusalCode,
    detail: string,
    options: Pick<Refusal, 'headers' | 'removeVias'> = {},
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
    const target = responseTargetOf(response);
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
    if (replyChannel.hasSubscribers) replyChannel.publish({ request, response, info, code } satisfies ProxyReplyEvent);
    outcome.response = response;
    return outcome;
  }

  #drop(message: SipMessage, info: ReceiveInfo, status: number, reason: string, code: ProxyRefusalCode, detail: string): ProxyRefused {
    this.#dropped(message, info, code, detail);
    return { ok: false, status, reason, code, detail };
  }

  #dropped(message: SipMessage, info: ReceiveInfo, code: string, detail: string): void {
    this.#logger?.debug?.({ code, detail, callId: message.callId }, 'dropped message');
    if (dropChannel.hasSubscribers) dropChannel.publish({ message, info, code, reason: detail } satisfies ProxyDropEvent);
  }

  #forwarded(message: SipMessage, info: ReceiveInfo, leg: Leg, destination: Destination): void {
    if (forwardChannel.hasSubscribers) forwardChannel.publish({ message, info, leg, destination } satisfies ProxyForwardEvent);
  }
}
