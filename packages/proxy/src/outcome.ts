import type { Destination, Leg, LegConnection } from '@sipway/sip-leg';
import type { SipMessage, SipResponse } from '@sipway/sip-message';

/** Why a message was not forwarded. Stable strings, for logs, metrics and tests. */
export type ProxyRefusalCode =
  | 'invalid-message'
  | 'too-many-hops'
  | 'loop-detected'
  | 'bad-extension'
  | 'unsupported-scheme'
  | 'forbidden-relay'
  | 'not-found'
  | 'temporarily-unavailable'
  | 'location-failed'
  | 'forbidden-destination'
  | 'no-route'
  | 'delivery-failed'
  | 'media-failed'
  | 'not-our-response'
  | 'no-via'
  | 'answered-options'
  | 'own-ack'
  | 'closed'
  | 'internal-error';

/** The message went out on `leg` to `destination`. */
export interface ProxyForwarded {
  ok: true;
  /** The message as sent (the received object, edited in place). */
  message: SipMessage;
  leg: Leg;
  destination: Destination;
  /** The stream connection it went on (TCP, TLS, WebSocket legs). */
  connection?: LegConnection | undefined;
}

/**
 * The message was not forwarded. `status`/`reason` are the SIP answer that applies (RFC 3261
 * §16, §21); `response` is set when the proxy actually sent one — not for an ACK, a response,
 * or with `silentDrop`.
 */
export interface ProxyRefused {
  ok: false;
  status: number;
  reason: string;
  code: ProxyRefusalCode;
  /** Human-readable detail for logs. */
  detail: string;
  response?: SipResponse | undefined;
}

/** What {@link StatelessProxy.route} did with one message. */
export type ProxyOutcome = ProxyForwarded | ProxyRefused;
