const BRAND = Symbol.for('sipway.example.ConfigError');

/**
 * A start-up error with a message meant for the person who typed the command. Exit code 2.
 * `C`: the codes one example uses (bad flags, a bad config file, a leg that cannot be built…).
 */
export class ConfigError<C extends string = string> extends Error {
  readonly code: C;
  readonly [BRAND] = true;
  constructor(code: C, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
  }
  static isInstance(value: unknown): value is ConfigError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
