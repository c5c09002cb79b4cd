/**
 * Errors of @sipway/sip-leg. Only programming errors are thrown (using a leg after close,
 * bad options, a failed bind at start); network failures while sending are returned as values
 * ({@link SendFailure}), never thrown.
 */

import { SipError } from '@sipway/sip-message';

const BRAND = Symbol.for('sipway.sip-leg.error');

/** Stable error codes of this package, as constants to import (never retype them as strings). */
export const LEG_ERROR_CODES = {
  CLOSED: 'LEG_CLOSED',
  NOT_STARTED: 'LEG_NOT_STARTED',
  START_FAILED: 'LEG_START_FAILED',
  INVALID_OPTIONS: 'LEG_INVALID_OPTIONS',
  DESTROYED: 'LEG_DESTROYED',
  DISPATCHER_CLOSED: 'DISPATCHER_CLOSED',
} as const;

/** Stable error codes of this package. */
export type LegErrorCode = (typeof LEG_ERROR_CODES)[keyof typeof LEG_ERROR_CODES];

/**
 * Base class of every error thrown by this package: a stable `code`, an optional SIP `status`,
 * and a `Symbol.for` brand so `isInstance` works across duplicated package copies.
 */
export class SipLegError extends SipError<LegErrorCode> {
  constructor(code: LegErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(code, message, options?.status, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SipLegError';
    Object.defineProperty(this, BRAND, { value: true });
  }
  static override isInstance(value: unknown): value is SipLegError {
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
