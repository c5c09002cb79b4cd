import type { Destination, DestinationResolver, Dispatcher, Leg, ReceiveInfo } from '@sipway/sip-leg';
import type { SipRequest } from '@sipway/sip-message';
import type { ContactCodecName, ContactKeyInput } from '@sipway/contact-rewriter';
import type { BranchFormula } from './branch.js';
import type { ProxyContactRewriter } from './contacts.js';
import type { LocationService } from './location.js';
import type { MediaRelay } from './media.js';

/** Optional logger in pino's shape, `(fields, msg)`: a pino logger fits as it is; every method optional. */
export interface ProxyLogger {
  debug?(fields: Record<string, unknown>, message: string): void;
  info?(fields: Record<string, unknown>, message: string): void;
  warn?(fields: Record<string, unknown>, message: string): void;
  error?(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link StatelessProxy}. Only `dispatcher` is required. */
export interface StatelessProxyOptions {
  /** Owns the legs; the proxy delivers through it (never with retransmissions). */
  dispatcher: Dispatcher;
  /**
   * Domains this proxy serves (case-insensitive, any port). Requests for them are looked up in
   * `location`; other targets are relayed only for a request on a Record-Route this proxy
   * signed, one carrying our Contact token, an authenticated sender, a `relayAllow` source, or
   * with `openRelay` — else 403. From is never evidence.
   * `'*'` serves every domain (Net::SIP's `--domain '*'`): an open relay; lookups are tried,
   * and a miss falls through to DNS instead of 404. A URI naming one of our legs by host, port
   * and transport counts as served too (RFC 3261 §19.1.4). Default: none besides them.
   */
  domains?: readonly string[] | undefined;
  /** Relay requests for any domain from anyone (default false). */
  openRelay?: boolean | undefined;
  /** Bindings of the served domains (usually a registrar). Without it, requests are routed by DNS. */
  location?: LocationService | undefined;
  /**
   * RFC 3263 resolver for this proxy's next hops instead of the dispatcher's. Default: the
   * dispatcher's (one resolver, with its next hops and caches); never a bare one made here.
   */
  resolver?: DestinationResolver | undefined;
  /** Rewrites Contacts between legs. Default: @sipway/contact-rewriter's `ContactRewriter` over the dispatcher's legs. */
  contactRewriter?: ProxyContactRewriter | undefined;
  /** Key of the default contact rewriter (hex/base64 text or bytes, ≥ 16 bytes). Default: `SIPWAY_CONTACT_KEY`, else random per process. */
  contactKey?: ContactKeyInput | undefined;
  /** Codec of the default contact rewriter: `'siv'` (default) or Net::SIP's `'rc4-md5'`. */
  contactCodec?: ContactCodecName | undefined;
  /**
   * Seconds a Contact token of the default rewriter stays valid (`tokenLifetime` of
   * @sipway/contact-rewriter; siv codec only). Default 604800 (7 days); 0 = no limit.
   */
  contactTokenLifetime?: number | undefined;
  /** Rewrite Contacts even when a message leaves on the leg it came in on (Net::SIP `force_rewrite`). Default false. */
  forceRewrite?: boolean | undefined;
  /** Never answer errors, drop silently as Net::SIP does (default false: answer as RFC 3261 §16 says). */
  silentDrop?: boolean | undefined;
  /** Max-Forwards above this are lowered to it before the decrement (Net::SIP: 70). Default 70. */
  maxForwardsCap?: number | undefined;
  /**
   * Net::SIP's Max-Forwards rule instead of RFC 3261 §16.3/§16.6: 0 and absent count as the
   * cap, the value is decremented and a request reaching 0 is refused (1 → 483/drop, 0 → 69).
   * Default false.
   */
  netSipMaxForwards?: boolean | undefined;
  /** Insert Record-Route on every request but REGISTER (default true, as Net::SIP). */
  recordRoute?: boolean | undefined;
  /** `'rfc'` (default): sipway's branch with a loop-detection part; `'netsip'`: Net::SIP's level-3 branch, byte for byte. */
  branchFormula?: BranchFormula | undefined;
  /** Option tags this proxy supports in Proxy-Require (default none: every one gets 420). */
  supported?: readonly string[] | undefined;
  /** Answer an OPTIONS addressed to the proxy itself (or with Max-Forwards 0) with 200 (default true, RFC 3261 §16.3 step 3, §11). */
  answerOptions?: boolean | undefined;
  /**
   * Picks the leg for a destination (Net::SIP: a leg's `can_deliver_to`). Default: the
   * dispatcher's first listening leg with the destination's transport and address family.
   */
  selectLeg?: ((destination: Destination, request: SipRequest, info: ReceiveInfo) => Leg | undefined) | undefined;
  /**
   * Net::SIP's `Leg::deliver` UA-isms on proxied messages: forwarded INVITEs and 2xx answers to
   * INVITE get `Allow: INVITE, ACK, OPTIONS, CANCEL, BYE`, an empty `Supported:` and a Contact
   * when they lack them; 405 and 2xx answers to OPTIONS get Allow and Supported. Default false:
   * a proxy should not add these (RFC 3261 §16.6); turn on to match Net::SIP byte for byte.
   */
  netSipUaHeaders?: boolean | undefined;
  /**
   * Key of the HMAC in our Record-Route entries (`;rrsig=`, hex/base64 text or bytes, ≥ 16
   * bytes), shared by every node of a cluster. Default: derived from the contact key (option or
   * `SIPWAY_CONTACT_KEY`), else from the per-process random key (a warning is logged).
   */
  recordRouteKey?: ContactKeyInput | undefined;
  /** Source addresses (CIDR blocks, IPv4 or IPv6) whose requests are relayed to any target. Default none. */
  relayAllow?: readonly string[] | undefined;
  /**
   * Destination blocks (CIDR) allowed although loopback, link-local, private or the proxy's own
   * address. Default none: those are reached only when a leg listens in the block (loopback,
   * link-local, private) or a binding names the address.
   */
  allowDestinations?: readonly string[] | undefined;
  /** Allow every private destination (RFC 1918, fc00::/7). Default false. */
  allowPrivate?: boolean | undefined;
  /** Extra destinations never to send to (besides broadcast and multicast, always refused). */
  forbiddenDestination?: ((address: string) => boolean) | undefined;
  /**
   * HMAC key of the flow tokens put in Record-Route (RFC 5626 §5.2), ≥ 16 bytes. Default: random
   * per process, which is right: flows are connections of this process and end with it.
   */
  flowKey?: Uint8Array | undefined;
  /**
   * Relays RTP between legs (Net::SIP's `nathelper`): SDP of messages that change legs is given
   * to it (offers in INVITE/UPDATE and late offers in 18x/2xx, answers in 18x/2xx and ACK) and
   * rewritten; BYE, CANCEL and ≥ 300 answers to INVITE end the call's media. An offer it cannot
   * take gets 503; an answer it cannot take is dropped (logged). See `@sipway/media-relay`.
   */
  mediaRelay?: MediaRelay | undefined;
  /** Use `mediaRelay` even when a message leaves on the leg it came in on. Default false. */
  forceMedia?: boolean | undefined;
  logger?: ProxyLogger | undefined;
}
