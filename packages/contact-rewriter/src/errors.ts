const SIPWAY_ERROR_BRAND = Symbol.for('sipway.error');
const BRAND = Symbol.for('sipway.contact-rewriter.error');

/** Stable codes of every error this package throws. */
export type ContactRewriterErrorCode =
  /** A key is not hex or base64, or shorter than {@link MIN_CONTACT_KEY_BYTES}. */
  | 'CONTACT_KEY_INVALID'
  /** An option is unknown, out of range or contradicts another one. */
  | 'CONTACT_OPTION_INVALID'
  /** A leg has no usable `key` (identity string). */
  | 'CONTACT_LEG_INVALID'
  /** A custom `rewrite` callback returned something that is not a token when asked to encode. */
  | 'CONTACT_REWRITE_INVALID';

/**
 * Errors of `@sipway/contact-rewriter`. Only configuration and programming errors are thrown;
 * a token that does not decode is a value (`undefined`), never an exception.
 * Carries the `sipway.error` brand too, so a generic sipway error check recognises it.
 */
export class ContactRewriterError extends Error {
  readonly code: ContactRewriterErrorCode;
  /** SIP status an element would answer: none, these are configuration errors. */
  readonly status: number | undefined;

  constructor(code: ContactRewriterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ContactRewriterError';
    this.code = code;
    this.status = undefined;
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, SIPWAY_ERROR_BRAND, { value: true });
  }

  /** True for an error of this package, even one thrown by another copy of it. */
  static isInstance(value: unknown): value is ContactRewriterError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
