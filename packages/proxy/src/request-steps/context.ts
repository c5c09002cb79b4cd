/**
 * What the request steps of RFC 3261 §16.3–§16.6 share: the proxy's configuration (`ProxyCore`)
 * and one context per message (`RequestContext`), on which each step reads and writes; a step
 * returns nothing to go on or a {@link Refusal} to stop.
 */
import type { Destination, Dispatcher, Leg, ReceiveInfo } from '@sipway/sip-leg';
import type { SipRequest, SipUri } from '@sipway/sip-message';
import type { CidrList } from '../address-ranges.js';
import type { BranchFormula } from '../branch.js';
import type { ProxyContactRewriter } from '../contacts.js';
import type { DestinationPolicy } from '../destination-policy.js';
import type { Flow, FlowTokens } from '../flow-token.js';
import type { FlowTarget } from '../flows.js';
import type { LocationService } from '../location.js';
import type { MediaFlow } from '../media-flow.js';
import type { StatelessProxyOptions } from '../options.js';
import type { ProxyRefusalCode } from '../outcome.js';
import { sipUri } from '../own-legs.js';
import type { RecordRouteSigner } from '../record-route-signature.js';
import type { RecentRelays } from '../relay-policy.js';

/** The proxy's configuration as the steps read it (made once, by the constructor). */
export interface ProxyCore {
  readonly dispatcher: Dispatcher;
  readonly options: StatelessProxyOptions;
  readonly domains: ReadonlySet<string>;
  readonly wildcard: boolean;
  readonly openRelay: boolean;
  readonly location: LocationService | undefined;
  readonly forceRewrite: boolean;
  readonly cap: number;
  readonly netSipMaxForwards: boolean;
  readonly recordRoute: boolean;
  readonly formula: BranchFormula;
  readonly supported: ReadonlySet<string>;
  readonly answerOptions: boolean;
  readonly flows: FlowTokens;
  readonly media: MediaFlow | undefined;
  readonly destinationPolicy: DestinationPolicy;
  readonly relayAllow: CidrList;
  readonly signer: RecordRouteSigner;
  readonly recent: RecentRelays;
  contactRewriter(): ProxyContactRewriter;
}

/** Why a step stops the request: answered statelessly with this status (or only dropped). */
export interface Refusal {
  status: number;
  reason: string;
  code: ProxyRefusalCode;
  detail: string;
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Our own Vias already inserted on top, to leave out of the answer. */
  removeVias?: number;
  /** Dropped without an answer (the ACK of our own answer). */
  drop?: true;
}

export function refusal(status: number, reason: string, code: ProxyRefusalCode, detail: string, more: Partial<Refusal> = {}): Refusal {
  return { status, reason, code, detail, ...more };
}

/** One request on its way through the steps. */
export interface RequestContext {
  readonly request: SipRequest;
  readonly info: ReceiveInfo;
  readonly inLeg: Leg;
  readonly legs: readonly Leg[];
  /** The Request-URI as received (the loop hash and the relay memory key on it). */
  readonly receivedUri: string;
  toTag: string | undefined;
  mfPresent: boolean;
  /** Max-Forwards after §16.6 step 3. */
  newMf: number;
  /** The loop part of our branches (§16.3 step 4). */
  loop: string;
  /** `;rrsig=` values of our own Record-Route entries coming back (relay evidence). */
  signatures: string[];
  /** RFC 5626 §5.3: flow tokens in our own Route entries, with the leg each one names. */
  routeFlows: Array<{ leg: Leg; flow: Flow }> | undefined;
  /** The leg a Route entry or Contact token of ours names. */
  forcedLeg: Leg | undefined;
  /** The Request-URI was one of our Contact tokens, restored. */
  restored: boolean;
  nextHop: string | undefined;
  flow: FlowTarget | undefined;
  sourceDestination: Destination | undefined;
  /** The target came from a registered binding: the registrar vouches for its address. */
  fromBinding: boolean;
  /** The leg the binding's REGISTER came in on: preferred for it when it can reach the destination. */
  preferredLeg: Leg | undefined;
  /** Vias the §16.6 edit inserted (left out of an answer after a failed send). */
  inserted: number;
  /** Each URI text parsed once for this message (made on first use). */
  parsed: Map<string, SipUri | undefined> | undefined;
}

export function newContext(request: SipRequest, info: ReceiveInfo, legs: readonly Leg[]): RequestContext {
  return {
    request,
    info,
    inLeg: info.leg,
    legs,
    receivedUri: request.uri,
    toTag: undefined,
    mfPresent: false,
    newMf: 0,
    loop: '',
    signatures: [],
    routeFlows: undefined,
    forcedLeg: undefined,
    restored: false,
    nextHop: undefined,
    flow: undefined,
    sourceDestination: undefined,
    fromBinding: false,
    preferredLeg: undefined,
    inserted: 0,
    parsed: undefined,
  };
}

/** The SIP URI of `text`, parsed once per message. */
export function uriOf(ctx: RequestContext, text: string): SipUri | undefined {
  const parsed = (ctx.parsed ??= new Map());
  if (parsed.has(text)) return parsed.get(text);
  const uri = sipUri(text);
  parsed.set(text, uri);
  return uri;
}
