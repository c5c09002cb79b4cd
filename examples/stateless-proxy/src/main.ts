#!/usr/bin/env node
/**
 * sipway-proxy: the runnable stateless proxy and registrar (Net::SIP's stateless_proxy.pl).
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when the proxy cannot start (a port in use, Redis not
 * answering, an unreadable snapshot), 2 for bad flags or config.
 */
import { pino } from 'pino';
import { LEG_ERROR_CODES } from '@sipway/sip-leg';
import { PROXY_ERROR_CODES } from '@sipway/proxy';
import { parseCliArgs, USAGE } from './args.js';
import { loadConfigFile, resolveConfig } from './config.js';
import { ConfigError } from './errors.js';
import { describeStore } from './store.js';
import { fdLimitWarning } from './connection-limits.js';
import { describeLeg, startProxy } from './wiring.js';
import type { RunningProxy } from './wiring.js';

/** Error codes of the packages that mean a bad option rather than a failed start: exit 2. */
const OPTION_ERRORS = new Set<string>([LEG_ERROR_CODES.INVALID_OPTIONS, 'REGISTRAR_INVALID_OPTIONS', 'AUTH_INVALID_OPTIONS', 'ADMIN_INVALID_OPTIONS', PROXY_ERROR_CODES.INVALID_OPTIONS]);

async function main(argv: readonly string[]): Promise<number> {
  let config;
  try {
    const cli = parseCliArgs(argv);
    if (cli.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const file = cli.configFile === undefined ? {} : loadConfigFile(cli.configFile);
    config = resolveConfig(file, cli.flags);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    process.stderr.write(`sipway-proxy: ${error.message}\n`);
    return 2;
  }

  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  // "listening" lines are the readiness signal: printed whatever the log level.
  const ready = logger.child({}, { level: 'info' });

  // Signals are taken from the first moment, so one that arrives during start-up still ends in
  // an orderly close. `on`, not `once`: pnpm relays a signal the process group also got, and a
  // second SIGTERM must not fall through to Node's default (exit 143).
  let signalled: NodeJS.Signals | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled !== undefined) return;
    signalled = signal;
    onSignal?.(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);

  let running: RunningProxy;
  try {
    running = await startProxy(config, logger);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, 'cannot start');
    process.stderr.write(`sipway-proxy: cannot start: ${message}\n`);
    const code = (error as { code?: string }).code;
    return ConfigError.isInstance(error) || (code !== undefined && OPTION_ERRORS.has(code)) ? 2 : 1;
  }
  for (const leg of running.legs) {
    ready.info({ leg: describeLeg(leg), contact: leg.contact }, `listening on ${describeLeg(leg)}`);
  }
  if (running.admin !== undefined) ready.info({ admin: running.admin.url }, `admin listening on ${running.admin.url}`);
  if (config.domains.includes('*')) {
    // Printed whatever the log level: an open relay must never go unnoticed.
    ready.warn(
      { domains: config.domains, openRelay: true },
      'OPEN RELAY: --domain * serves every domain and relays any request from anyone to anywhere ' +
        '(loopback, link-local, private and own addresses still need a reason); give --domain D to serve and relay only for D',
    );
  }
  if (config.relayAllow.length > 0) logger.info({ relayAllow: config.relayAllow }, 'relaying for these sources to any target');
  if (running.registrar !== undefined) logger.info({ domains: config.domains, store: describeStore(config.store) }, 'registrar on');
  if (config.auth !== undefined) {
    logger.info({ realm: config.auth.realm, users: config.auth.users.size, algorithms: config.auth.algorithms, lockout: config.auth.lockout }, 'digest authentication on');
  }
  if (config.rateLimit !== undefined) logger.info({ rateLimit: config.rateLimit }, 'rate limit on');
  const fdWarning = fdLimitWarning(config.connections, config.legs.filter((l) => l.transport !== 'udp').length);
  if (fdWarning !== undefined) logger.warn({ connections: config.connections }, fdWarning);
  if (config.media !== undefined) logger.info({ media: config.media }, 'media relay on');

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      ready.info({ signal }, 'closing legs');
      // A leg that will not close must not keep the process: bounded wait.
      const timer = setTimeout(() => {
        logger.warn('legs did not close within 5 s; exiting anyway');
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
    if (signalled !== undefined) stop(signalled);
    else onSignal = stop;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Flush pino's stdout before exiting even if a socket lingers.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`sipway-proxy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
