const SIP_ERROR_BRAND = Symbol.for('sipway.error');

/** Stable machine-readable codes of every error sipway throws. */
export type SipErrorCode =
  | 'SIP_PARSE_ERROR'
  | 'SIP_MESSAGE_TOO_LARGE'
  | 'SIP_FRAMING_ERROR'
  | 'SIP_INVALID_ARGUMENT';

/**
 * Base of every sipway error: a stable `code` and, where one applies, the SIP `status` an
 * element would answer (RFC 3261 §21). The other packages' errors extend it (or, for the ones
 * that depend on nothing of ours, carry its `Symbol.for('sipway.error')` brand), so
 * `SipError.isInstance` recognises every one of them, even from another copy of a package.
 */
export class SipError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly status: number | undefined;
  readonly [SIP_ERROR_BRAND] = true;

  constructor(code: Code, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SipError';
    this.code = code;
    this.status = status;
  }

  /** True for any sipway error, even one from another copy of this package. */
  static isInstance(error: unknown): error is SipError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SIP_ERROR_BRAND] === true;
  }
}

const PARSE_ERROR_BRAND = Symbol.for('sipway.error.parse');

/** Bytes that are not a SIP message, or a header value that does not follow its grammar. */
export class SipParseError extends SipError<SipErrorCode> {
  readonly [PARSE_ERROR_BRAND] = true;

  constructor(message: string, status = 400, code: SipErrorCode = 'SIP_PARSE_ERROR') {
    super(code, message, status);
    this.name = 'SipParseError';
  }

  static override isInstance(error: unknown): error is SipParseError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[PARSE_ERROR_BRAND] === true;
  }
}
