import { SipError } from '@sipway/sip-message';

const BRAND = Symbol.for('sipway.proxy.error');

/** Stable codes of the errors this package throws (programming errors only), as constants to import. */
export const PROXY_ERROR_CODES = { INVALID_OPTIONS: 'PROXY_INVALID_OPTIONS' } as const;

export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[keyof typeof PROXY_ERROR_CODES];

/**
 * Thrown for misuse only (bad options, use after close). Protocol outcomes — a refused or
 * dropped request — are returned as {@link ProxyOutcome} values, never thrown.
 */
export class ProxyError extends SipError<ProxyErrorCode> {
  constructor(code: ProxyErrorCode, message: string, status?: number) {
    super(code, message, status);
    this.name = 'ProxyError';
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for a ProxyError, even one from another copy of this package. */
  static override isInstance(value: unknown): value is ProxyError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
