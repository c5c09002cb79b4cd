/**
 * Errors of @sipway/registrar. Only programming and infrastructure errors are thrown (bad options,
 * use after close, a failing store); protocol outcomes (200, 400, 423, …) are responses sent to
 * the peer, never exceptions.
 */

const BRAND = Symbol.for('sipway.registrar.error');
// The brand of @sipway/sip-message's SipError, so `SipError.isInstance()` accepts these too.
const SIP_ERROR_BRAND = Symbol.for('sipway.error');

/** Stable error codes of this package, to import rather than retype. */
export const REGISTRAR_ERROR_CODES = {
  INVALID_OPTIONS: 'REGISTRAR_INVALID_OPTIONS',
  CLOSED: 'REGISTRAR_CLOSED',
  STORE_CLOSED: 'STORE_CLOSED',
  STORE_FAILED: 'STORE_FAILED',
} as const;
export type RegistrarErrorCode = (typeof REGISTRAR_ERROR_CODES)[keyof typeof REGISTRAR_ERROR_CODES];

/**
 * Base of every error this package throws: a stable `code`, an optional SIP `status`, and a
 * `Symbol.for` brand so `isInstance` works across duplicated package copies.
 */
export class RegistrarError extends Error {
  readonly code: RegistrarErrorCode;
  readonly status: number | undefined;
  constructor(code: RegistrarErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistrarError';
    this.code = code;
    this.status = options?.status;
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, SIP_ERROR_BRAND, { value: true });
  }

  static isInstance(value: unknown): value is RegistrarError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Options given to the registrar or a store are invalid (checked once, at construction). */
export class RegistrarOptionsError extends RegistrarError {
  constructor(message: string) {
    super('REGISTRAR_INVALID_OPTIONS', message);
    this.name = 'RegistrarOptionsError';
  }
}

/** The registrar or a store was used after `close()`. */
export class RegistrarClosedError extends RegistrarError {
  constructor(what: string) {
    super(what === 'registrar' ? 'REGISTRAR_CLOSED' : 'STORE_CLOSED', `${what} is closed`);
    this.name = 'RegistrarClosedError';
  }
}

/**
 * A location store could not answer (connection lost, timeout). The registrar answers the
 * REGISTER with 503 and Retry-After (RFC 3261 §21.5.4) instead of letting this escape.
 */
export class LocationStoreError extends RegistrarError {
  constructor(message: string, cause?: unknown) {
    super('STORE_FAILED', message, { status: 503, cause });
    this.name = 'LocationStoreError';
  }
}
