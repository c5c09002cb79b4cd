/** Codes of start-up errors: bad flags, a bad leg, store or admin address. */
export type ConfigErrorCode = 'USAGE' | 'LEG_SPEC' | 'STORE_SPEC' | 'AUTH';

const BRAND = Symbol.for('sipway.example.registrar.ConfigError');

/** A start-up error with a message meant for the person who typed the command. Exit code 2. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }
  static isInstance(value: unknown): value is ConfigError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
