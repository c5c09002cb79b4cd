/**
 * The media relay contract the proxy drives (Net::SIP's `nathelper`, rtpengine's
 * offer/answer/delete). The proxy depends on this shape only; `@sipway/media-relay` implements
 * it (a built-in relay and an rtpengine client) without depending on the proxy.
 *
 * @see RFC 3264 (offer/answer), RFC 4566 (SDP)
 */

/**
 * Which call (Net::SIP's ids: Call-ID and the tags).
 *
 * In `offer` and `answer`, `fromTag` is the tag of the party that made the offer and `toTag`
 * the answerer's (rtpengine's convention): for an offer in an INVITE or UPDATE and the answer in
 * its response they are the From and To tags; for a late offer in a 2xx/18x and its answer in the
 * ACK they are the To and From tags. An initial offer has no `toTag`.
 * In `delete`, `fromTag`/`toTag` are the message's From and To tags.
 */
export interface MediaCall {
  callId: string;
  fromTag: string;
  toTag?: string;
  /**
   * CSeq number of the INVITE/UPDATE transaction (offer, answer, and `delete` with
   * `'cancel'`/`'rejected'`): lets a relay tell a rejected re-INVITE from a rejected call.
   */
  cseq?: number;
}

/** One side of a relayed call: the leg SDP travels from or to. */
export interface MediaSide {
  /** Stable leg id, e.g. `udp:127.0.0.1:5060` (`udp:[::1]:5060` for IPv6). */
  leg: string;
  /** The IP this side's peers should send media to (the leg's address). */
  address: string;
  transport: 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';
  family: 4 | 6;
  /** True on ws/wss legs: the peer is probably a browser (ICE, DTLS-SRTP); relays that can bridge WebRTC use it. */
  webrtc?: boolean;
}

/**
 * Why a call's media ends. `'bye'` (and no reason) ends the whole call. `'cancel'` and
 * `'rejected'` (a ≥ 300 final answer to an INVITE) carry the INVITE's `cseq`: they end the call
 * when that INVITE set it up, and only drop the pending offer of a re-INVITE otherwise, so a
 * refused re-INVITE (488, 491) leaves the established media running (RFC 3261 §14.1).
 */
export type MediaDeleteReason = 'bye' | 'cancel' | 'rejected';

/**
 * A media relay the proxy calls when an SDP body crosses from one leg to another. Every method
 * may throw (an error with a `code` and `status` 503, `MediaRelayError` in @sipway/media-relay);
 * the proxy answers a failed INVITE offer with 503, drops other failed messages and never crashes.
 */
export interface MediaRelay {
  /** SDP offer travelling from side `from` to side `to`; returns the SDP to forward. */
  offer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string>;
  /** SDP answer travelling from `from` (answerer) to `to` (offerer); activates the session. */
  answer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string>;
  /** End the call's media (BYE, CANCEL, error answer to the INVITE). Idempotent. */
  delete(call: MediaCall, reason?: MediaDeleteReason): Promise<void>;
  close(): Promise<void>;
}
