/**
 * Errors of @sipway/auth. Only programming errors are thrown (bad options at construction);
 * protocol outcomes (401, 403, 407, 503) are responses sent to the peer, never exceptions.
 */

const BRAND = Symbol.for('sipway.auth.error');
// The brand of @sipway/sip-message's SipError, so `SipError.isInstance()` accepts these too.
const SIP_ERROR_BRAND = Symbol.for('sipway.error');

/** Stable error codes of this package, to import rather than retype. */
export const AUTH_ERROR_CODES = { INVALID_OPTIONS: 'AUTH_INVALID_OPTIONS' } as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[keyof typeof AUTH_ERROR_CODES];

/**
 * Base of every error this package throws: a stable `code`, an optional SIP `status`, and a
 * `Symbol.for` brand so `isInstance` works across duplicated package copies.
 */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number | undefined;

  constructor(code: AuthErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.status = options?.status;
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, SIP_ERROR_BRAND, { value: true });
  }

  static isInstance(value: unknown): value is AuthError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Options given to a constructor are invalid (checked once, at start-up). */
export class AuthOptionsError extends AuthError {
  constructor(message: string) {
    super('AUTH_INVALID_OPTIONS', message);
    this.name = 'AuthOptionsError';
  }
}
