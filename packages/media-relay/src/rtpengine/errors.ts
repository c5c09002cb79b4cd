const SIPWAY_ERROR_BRAND = Symbol.for('sipway.error');
const BRAND = Symbol.for('sipway.media-relay.rtpengine.error');

/** Stable codes of every error the rtpengine client and relay throw. */
export type RtpengineErrorCode =
  /** No reply to any try of a request (rtpengine down, stopped, or the address is wrong). */
  | 'RTPENGINE_TIMEOUT'
  /** The control address refused the datagram (ICMP port unreachable: nothing listens there). */
  | 'RTPENGINE_UNREACHABLE'
  /** rtpengine answered `result: error`; `reason` holds its `error-reason`. */
  | 'RTPENGINE_ERROR'
  /** rtpengine refused a new call for load (`result: load limit`, `--max-sessions`, `--max-load`). */
  | 'RTPENGINE_LOAD_LIMIT'
  /** A reply that is not a bencode dictionary, or lacks `result` / `sdp`. */
  | 'RTPENGINE_BAD_REPLY'
  /** More requests waiting for rtpengine than `maxPending` allows. */
  | 'RTPENGINE_OVERLOADED'
  /** The client or relay was closed. */
  | 'RTPENGINE_CLOSED'
  /** An answer without a To tag, an empty Call-ID or From tag. */
  | 'RTPENGINE_CALL_INVALID'
  /** An option is unknown, out of range or contradicts another one (start-up error). */
  | 'RTPENGINE_OPTION_INVALID';

/**
 * Errors of the rtpengine client. Every failure of a call's media answers the INVITE 503
 * (`status`), except option errors, which happen at start-up and carry no status. Carries the
 * `sipway.error` brand, so a generic sipway error check recognises it. Its codes are its own
 * (`RTPENGINE_*`, more precise than `MediaRelayError`'s), so it is not a `MediaRelayError`.
 */
export class RtpengineError extends Error {
  readonly code: RtpengineErrorCode;
  /** SIP status a proxy answers when this error stops a call's offer: 503, or none for options. */
  readonly status: number | undefined;
  /** rtpengine's own `error-reason` / `warning` text, when it gave one. */
  readonly reason: string | undefined;

  constructor(code: RtpengineErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RtpengineError';
    this.code = code;
    this.status = code === 'RTPENGINE_OPTION_INVALID' ? undefined : 503;
    this.reason = options?.reason;
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, SIPWAY_ERROR_BRAND, { value: true });
  }

  /** True for an error of this module, even one thrown by another copy of it. */
  static isInstance(value: unknown): value is RtpengineError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
