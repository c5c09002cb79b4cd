/**
 * Why a URI could not be resolved, and the SIP status an element answers for it.
 * The choices are argued in docs/resolver.md ("Failures").
 */

/** Stable reasons a resolution fails. */
export type ResolveFailureCode =
  /** The URI does not parse. 400: RFC 3261 §21.4.1. */
  | 'BAD_URI'
  /** Not a sip:/sips: URI and no outbound proxy to hand it to. 416: RFC 3261 §21.4.15. */
  | 'UNSUPPORTED_SCHEME'
  /** No transport we have a leg for can reach the target (sips: without TLS, transport=sctp). 503. */
  | 'NO_TRANSPORT'
  /** DNS says the URI's domain does not exist or offers no SIP server and no address. 404: RFC 3261 §21.4.5. */
  | 'NOT_FOUND'
  /** A configured next hop (domain2proxy, outbound proxy) does not exist in DNS. 503: our fault, not the callee's. */
  | 'NEXT_HOP_NOT_FOUND'
  /** DNS could not answer (timeout, SERVFAIL, refused). 503: RFC 3261 §16.9 and §21.5.4, a temporary condition. */
  | 'DNS_FAILURE'
  /**
   * A `.invalid` name (RFC 6761 §6.4), never asked of DNS: a WebSocket client's made-up Contact
   * host (RFC 7118 §5), reachable only over its own connection. 480: RFC 3261 §21.4.18.
   */
  | 'INVALID_NAME';

/** A resolution that found no destination: the SIP status and reason to answer, and why. */
export interface ResolveFailure {
  ok: false;
  status: number;
  reason: string;
  code: ResolveFailureCode;
  /** Human-readable detail for logs (never sent on the wire by this package). */
  detail: string;
}

const STATUS: Record<ResolveFailureCode, [number, string]> = {
  BAD_URI: [400, 'Bad Request'],
  UNSUPPORTED_SCHEME: [416, 'Unsupported URI Scheme'],
  NO_TRANSPORT: [503, 'Service Unavailable'],
  NOT_FOUND: [404, 'Not Found'],
  NEXT_HOP_NOT_FOUND: [503, 'Service Unavailable'],
  DNS_FAILURE: [503, 'Service Unavailable'],
  INVALID_NAME: [480, 'Temporarily Unavailable'],
};

export function failure(code: ResolveFailureCode, detail: string): ResolveFailure {
  const [status, reason] = STATUS[code];
  return { ok: false, status, reason, code, detail };
}
