/** The few pino methods the close path writes with. */
export interface CloseLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** Lines written while closing: the first at info through `ready`, the second when 5 s pass. */
export interface CloseTexts {
  closing: string;
  timeout: string;
}

/**
 * SIGTERM/SIGINT, taken from the first moment so one that arrives during start-up still ends in an
 * orderly close. `on`, not `once`: pnpm relays a signal the process group also got, and a second
 * SIGTERM must not fall through to Node's default (exit 143).
 */
export class Signals {
  #signalled: NodeJS.Signals | undefined;
  #onSignal: ((signal: NodeJS.Signals) => void) | undefined;

  constructor() {
    const handler = (signal: NodeJS.Signals) => {
      if (this.#signalled !== undefined) return;
      this.#signalled = signal;
      this.#onSignal?.(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  }

  /**
   * Resolves with the exit code once a signal came and `running` closed: 0, or 1 when closing
   * failed; 0 too when it did not close within 5 s (a leg that will not close must not keep the
   * process). `ready`: the logger whose lines are printed whatever the level.
   */
  closeOnSignal(running: { close(): Promise<void> }, logger: CloseLogger, ready: CloseLogger, texts: CloseTexts): Promise<number> {
    return new Promise<number>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        ready.info({ signal }, texts.closing);
        const timer = setTimeout(() => {
          logger.warn(texts.timeout);
          resolve(0);
        }, 5000);
        timer.unref();
        running.close().then(
          () => {
            clearTimeout(timer);
            ready.info('closed');
            resolve(0);
          },
          (error: unknown) => {
            clearTimeout(timer);
            logger.error({ err: error }, 'error while closing');
            resolve(1);
          },
        );
      };
      if (this.#signalled !== undefined) stop(this.#signalled);
      else this.#onSignal = stop;
    });
  }
}

/**
 * Runs an example's `main` and exits with its code. pino's stdout is given 100 ms to flush even
 * if a socket lingers; a throw that escaped `main` is printed as `name: stack` and exits 1.
 */
export function exitWhenDone(name: string, main: Promise<number>): void {
  main.then(
    (code) => {
      process.exitCode = code;
      setTimeout(() => process.exit(code), 100).unref();
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
