/**
 * "Where does this request go and through which leg": the one place that answers it
 * (RFC 3261 §16.6 steps 6–9, §18.1.1; RFC 3263 §4). Used by {@link Dispatcher.route}.
 */
import type { SipUri } from '@sipway/sip-message';
import { canonicalAddress, ipFamily, stripBrackets } from './address.js';
import { TRANSPORTS, defaultPort, type Destination, type Transport } from './destination.js';
import type { Leg, LegConnection, ReceiveInfo, SendFailure, SendFailureCode } from './leg.js';

/** The part of the RFC 3263 resolver (`SipResolver`) the dispatcher uses. */
export interface DestinationResolver {
  resolve(
    uri: string,
    options?: { transports?: Transport[]; direct?: boolean },
  ): Promise<{ ok: true; destinations: Destination[] } | { ok: false; status: number; reason: string; detail?: string }>;
}

/** Options of {@link Dispatcher.route}. */
export interface RouteOptions<Refusal = never> {
  /** The next hop to resolve (RFC 3263; an IP literal or `maddr` is used as it is). Default: the Request-URI. */
  uri?: string | undefined;
  /** The destination is known already (a flow's peer, a binding's source): no resolution. */
  destination?: Destination | undefined;
  /** Only this leg may send (a Route entry or Contact token named it). */
  leg?: Leg | undefined;
  /** Send down this connection (an RFC 5626 flow) of `leg`, never dialling a new one. */
  connection?: LegConnection | undefined;
  /** The received message being forwarded: destinations over its transport are tried first. */
  incoming?: ReceiveInfo | undefined;
  /** Resolver for this call instead of the dispatcher's. */
  resolver?: DestinationResolver | undefined;
  /** Why a destination address must not be used (undefined: it may); refused ones are skipped. */
  refuse?: ((destination: Destination) => string | undefined | Promise<string | undefined>) | undefined;
  /** Picks the leg for a destination when no `leg` is given (default: the first listening leg that can). */
  selectLeg?: ((destination: Destination) => Leg | undefined) | undefined;
  /**
   * Edits the message for the leg chosen, once, just before the first send (Via, Record-Route):
   * a value returned instead stops the delivery and comes back as `refusal`.
   */
  prepare?: ((leg: Leg, destination: Destination) => Refusal | undefined | Promise<Refusal | undefined>) | undefined;
}

/** Why routing stopped before any send: a destination refused, one of our own legs, or `prepare`'s value. */
export type RouteFailure<Refusal = never> =
  | (SendFailure & { tried?: number })
  | { ok: false; status: 403; reason: 'Forbidden'; code: 'FORBIDDEN_DESTINATION'; detail: string }
  | { ok: false; status: 482; reason: 'Loop Detected'; code: 'OWN_ADDRESS'; detail: string; destination: Destination }
  | { ok: false; code: 'REFUSED'; refusal: Refusal };

export type RouteResult<Refusal = never> =
  | { ok: true; leg: Leg; destination: Destination; connection?: LegConnection | undefined; tried: number }
  | RouteFailure<Refusal>;

/** Send failures after which RFC 3263 §4.3 tries the next destination (transport errors, never a retransmission). */
const FAILOVER: ReadonlySet<SendFailureCode> = new Set(['CONNECT_FAILED', 'CONNECT_TIMEOUT', 'SEND_FAILED', 'NO_CONNECTION']);

export function failsOver(code: string): boolean {
  return FAILOVER.has(code as SendFailureCode);
}

/**
 * RFC 3263 §4.1/§4.2 for a URI whose host (or `maddr`) is an IP literal: the transport
 * parameter (else udp, tls for sips:) and the port (else the transport's default). Undefined for
 * a name, which needs the resolver; a string says why it cannot be used.
 */
export function literalDestination(uri: SipUri): Destination | string | undefined {
  const maddrParam = uri.params.maddr;
  const maddr = typeof maddrParam === 'string' && ipFamily(maddrParam) !== undefined ? stripBrackets(maddrParam) : undefined;
  const host = maddr ?? uri.host;
  const family = ipFamily(host);
  if (family === undefined) return undefined;
  const param = typeof uri.params.transport === 'string' ? uri.params.transport.toLowerCase() : undefined;
  const transport = (param ?? (uri.scheme === 'sips' ? 'tls' : 'udp')) as Transport;
  if (!TRANSPORTS.includes(transport)) return `transport ${param} is not supported`;
  return { transport, address: canonicalAddress(host), port: uri.port ?? defaultPort(transport), family };
}

/** Destinations over `transport` first, the rest after, each group in the resolver's order (Net::SIP). */
export function preferTransport(destinations: readonly Destination[], transport: Transport | undefined): readonly Destination[] {
  if (transport === undefined || destinations.every((d) => d.transport === transport)) return destinations;
  return [...destinations.filter((d) => d.transport === transport), ...destinations.filter((d) => d.transport !== transport)];
}

/** `transport:address:port`, what "the same destination" means (never sent to twice). */
export function destinationKey(d: Destination): string {
  return `${d.transport}:${d.address}:${d.port}`;
}
