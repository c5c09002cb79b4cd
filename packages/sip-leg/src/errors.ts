/**
 * Errors of @sipway/sip-leg. Only programming errors are thrown (using a leg after close,
 * bad options, a failed bind at start); network failures while sending are returned as values
 * ({@link SendFailure}), never thrown.
 */

const BRAND = Symbol.for('sipway.sip-leg.error');

/** Stable error codes of this package. */
export type LegErrorCode =
  | 'LEG_CLOSED'
  | 'LEG_NOT_STARTED'
  | 'LEG_START_FAILED'
  | 'LEG_INVALID_OPTIONS'
  | 'LEG_DESTROYED'
  | 'DISPATCHER_CLOSED';

/**
 * Base class of every error thrown by this package: a stable `code`, an optional SIP `status`,
 * and a `Symbol.for` brand so `isInstance` works across duplicated package copies.
 */
export class SipLegError extends Error {
  readonly code: LegErrorCode;
  readonly status: number | undefined;
  constructor(code: LegErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SipLegError';
    this.code = code;
    this.status = options?.status;
    Object.defineProperty(this, BRAND, { value: true });
  }
  static isInstance(value: unknown): value is SipLegError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** A leg (or dispatcher) was used after `close()` or `destroy()`. */
export class LegClosedError extends SipLegError {
  constructor(what: string) {
    super('LEG_CLOSED', `${what} is closed`);
    this.name = 'LegClosedError';
  }
}

/** `start()` could not bind or listen (address in use, permission, bad address). */
export class LegStartError extends SipLegError {
  constructor(what: string, cause: unknown) {
    super('LEG_START_FAILED', `${what} could not start: ${describe(cause)}`, { cause });
    this.name = 'LegStartError';
  }
}

/** Options given to a leg or the dispatcher are invalid (checked once, at construction). */
export class LegOptionsError extends SipLegError {
  constructor(message: string) {
    super('LEG_INVALID_OPTIONS', message);
    this.name = 'LegOptionsError';
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
