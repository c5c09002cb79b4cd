/**
 * Errors of @sipway/admin. Only programming and start-up errors are thrown (bad options, a port
 * that cannot be bound); a failing health check or store is a 503, never a throw.
 */

const BRAND = Symbol.for('sipway.admin.error');
// The brand of @sipway/sip-message's SipError, so `SipError.isInstance()` accepts these too.
const SIP_ERROR_BRAND = Symbol.for('sipway.error');

/** Stable error codes of this package, to import rather than retype. */
export const ADMIN_ERROR_CODES = { INVALID_OPTIONS: 'ADMIN_INVALID_OPTIONS', LISTEN_FAILED: 'ADMIN_LISTEN_FAILED' } as const;
export type AdminErrorCode = (typeof ADMIN_ERROR_CODES)[keyof typeof ADMIN_ERROR_CODES];

/** Base of every error this package throws: a stable `code` and a `Symbol.for` brand. */
export class AdminError extends Error {
  readonly code: AdminErrorCode;
  /** Always undefined: admin errors are not SIP answers (kept for the SipError shape). */
  readonly status: number | undefined = undefined;
  constructor(code: AdminErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AdminError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, SIP_ERROR_BRAND, { value: true });
  }

  static isInstance(value: unknown): value is AdminError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Options are invalid (checked once, when the object is made). */
export class AdminOptionsError extends AdminError {
  constructor(message: string) {
    super('ADMIN_INVALID_OPTIONS', message);
    this.name = 'AdminOptionsError';
  }
}

/** The admin listener could not bind its address (in use, not local, no permission). */
export class AdminListenError extends AdminError {
  constructor(message: string, cause: unknown) {
    super('ADMIN_LISTEN_FAILED', message, { cause });
    this.name = 'AdminListenError';
  }
}
