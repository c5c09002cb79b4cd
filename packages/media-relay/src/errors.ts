const SIPWAY_ERROR_BRAND = Symbol.for('sipway.error');
const BRAND = Symbol.for('sipway.media-relay.error');

/** The option error's code, to import rather than retype. */
export const MEDIA_INVALID_OPTIONS = 'MEDIA_INVALID_OPTIONS' as const;

/** Stable codes of every error this package throws. */
export type MediaRelayErrorCode =
  /** An option is unknown, out of range or contradicts another one (thrown by constructors). */
  | 'MEDIA_INVALID_OPTIONS'
  /** The SDP body is not SDP (RFC 4566 §5) or names an address the relay cannot use. */
  | 'MEDIA_BAD_SDP'
  /** An answer or delete for a call the relay does not know (or no longer knows). */
  | 'MEDIA_NO_SESSION'
  /** `maxSessions` or `maxSockets` reached. */
  | 'MEDIA_LIMIT'
  /** No free port pair left in the configured range on that address. */
  | 'MEDIA_NO_PORTS'
  /** The relay was closed. */
  | 'MEDIA_CLOSED'
  /** An external relay (rtpengine) did not answer in time or cannot be reached. */
  | 'MEDIA_UNREACHABLE'
  /** An external relay answered with an error. */
  | 'MEDIA_REFUSED';

/**
 * Errors of `@sipway/media-relay`. A failed offer or answer carries `status` 503: the proxy
 * answers the INVITE with it (RFC 3261 §21.5.4). Configuration errors have no status.
 * Carries the `sipway.error` brand too, so a generic sipway error check recognises it.
 */
export class MediaRelayError extends Error {
  readonly code: MediaRelayErrorCode;
  /** SIP status an element would answer: 503 for call-time failures, none for configuration errors. */
  readonly status: number | undefined;

  constructor(code: MediaRelayErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MediaRelayError';
    this.code = code;
    this.status = options?.status ?? (code === 'MEDIA_INVALID_OPTIONS' ? undefined : 503);
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, SIPWAY_ERROR_BRAND, { value: true });
  }

  /** True for an error of this package, even one thrown by another copy of it. */
  static isInstance(value: unknown): value is MediaRelayError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
