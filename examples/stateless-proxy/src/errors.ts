/** Codes of start-up errors: bad flags, bad config file, a leg that cannot be built. */
export type ConfigErrorCode = 'USAGE' | 'CONFIG_FILE' | 'CONFIG_INVALID' | 'LEG_SPEC';

const BRAND = Symbol.for('sipway.example.ConfigError');

/** A start-up error with a message meant for the person who typed the command. Exit code 2. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly [BRAND] = true;
  constructor(code: ConfigErrorCode, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
  }
  static isInstance(value: unknown): value is ConfigError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
