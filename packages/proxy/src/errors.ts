const BRAND = Symbol.for('sipway.proxy.error');

/** Stable codes of the errors this package throws (programming errors only). */
export type ProxyErrorCode = 'PROXY_INVALID_OPTIONS';

/**
 * Thrown for misuse only (bad options, use after close). Protocol outcomes — a refused or
 * dropped request — are returned as {@link ProxyOutcome} values, never thrown.
 */
export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  /** SIP status an element would answer, when one applies. */
  readonly status: number | undefined;

  constructor(code: ProxyErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'ProxyError';
    this.code = code;
    this.status = status;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for a ProxyError, even one from another copy of this package. */
  static isInstance(value: unknown): value is ProxyError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
