import { MediaRelayError, type MediaRelayErrorCode } from '../errors.js';

const BRAND = Symbol.for('sipway.media-relay.rtpengine.error');

/** What exactly went wrong with rtpengine (`RtpengineError.rtpengineCode`); `code` is the package's. */
export type RtpengineErrorCode =
  /** No reply to any try of a request (rtpengine down, stopped, or the address is wrong). */
  | 'RTPENGINE_TIMEOUT'
  /** The control address refused the datagram (ICMP port unreachable: nothing listens there), or the name does not resolve. */
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

/** The package's code for each rtpengine case. */
const PACKAGE_CODE: Record<RtpengineErrorCode, MediaRelayErrorCode> = {
  RTPENGINE_TIMEOUT: 'MEDIA_UNREACHABLE',
  RTPENGINE_UNREACHABLE: 'MEDIA_UNREACHABLE',
  RTPENGINE_ERROR: 'MEDIA_REFUSED',
  RTPENGINE_BAD_REPLY: 'MEDIA_REFUSED',
  RTPENGINE_LOAD_LIMIT: 'MEDIA_LIMIT',
  RTPENGINE_OVERLOADED: 'MEDIA_LIMIT',
  RTPENGINE_CLOSED: 'MEDIA_CLOSED',
  RTPENGINE_CALL_INVALID: 'MEDIA_NO_SESSION',
  RTPENGINE_OPTION_INVALID: 'MEDIA_INVALID_OPTIONS',
};

/**
 * Errors of the rtpengine client and relay: a {@link MediaRelayError} (its `code` is the
 * package's: `MEDIA_UNREACHABLE`, `MEDIA_REFUSED`, `MEDIA_LIMIT`, `MEDIA_CLOSED`,
 * `MEDIA_NO_SESSION`, `MEDIA_INVALID_OPTIONS`) with the exact case in `rtpengineCode` and
 * rtpengine's own text in `reason`. Every call-time error has `status` 503, which the proxy
 * answers to the INVITE; option errors (start-up) have none.
 */
export class RtpengineError extends MediaRelayError {
  readonly rtpengineCode: RtpengineErrorCode;
  /** rtpengine's own `error-reason` / `message` text, when it gave one. */
  readonly reason: string | undefined;

  constructor(rtpengineCode: RtpengineErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(PACKAGE_CODE[rtpengineCode], message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RtpengineError';
    this.rtpengineCode = rtpengineCode;
    this.reason = options?.reason;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for an error of the rtpengine module, even one thrown by another copy of it. */
  static override isInstance(value: unknown): value is RtpengineError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
