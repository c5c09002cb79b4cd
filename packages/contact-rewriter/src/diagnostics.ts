import { channel } from 'node:diagnostics_channel';

/** Why a token of ours did not decode (Net::SIP logs the same cases at DEBUG level). */
export type ContactRejectReason =
  /** Accepted prefix, but the body is not canonical upper-case base32. */
  | 'syntax'
  /** MAC mismatch: another key, another leg list, or altered bytes. */
  | 'mac'
  /** Authentic but unusable: shorter than the leg indices, or not UTF-8 (custom crypt only). */
  | 'malformed'
  /** It came in through a leg other than the one it went out on. */
  | 'direction'
  /** The leg it originally came in on is not in the list (Request-URI case). */
  | 'unknown-leg'
  /** The leg given to check is not the one it originally came in on (Contact case). */
  | 'wrong-leg'
  /**
   * Authentic, but older than `tokenLifetime`, or an untimed SIV token (made before tokens carried
   * their issue time) that is no longer accepted (`acceptUntimedUntil` unset or past).
   */
  | 'expired'
  /** Authentic, but issued more than 5 minutes in the future: a node's clock is wrong. */
  | 'future';

/** Payload of {@link CONTACT_REJECT_CHANNEL}. */
export interface ContactRejectMessage {
  readonly token: string;
  readonly reason: ContactRejectReason;
  readonly legIn: unknown;
}

/**
 * `node:diagnostics_channel` name on which a rewriter publishes every token with one of its
 * prefixes that it refuses to decode. Plain user parts (no accepted prefix) are not reported.
 */
export const CONTACT_REJECT_CHANNEL = 'sipway:contact-rewriter:reject';

export const rejectChannel = channel(CONTACT_REJECT_CHANNEL);
