#!/usr/bin/env node
/**
 * sipway-registrar: a registrar-only SIP server.
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when it cannot start (a port in use, Redis not
 * answering, an unreadable snapshot), 2 for bad flags.
 */
import { pino } from 'pino';
import { LEG_ERROR_CODES } from '@sipway/sip-leg';
import { AUTH_ERROR_CODES } from '@sipway/auth';
import { REGISTRAR_ERROR_CODES } from '@sipway/registrar';
import { parseCliArgs, USAGE } from './args.js';
import type { RegistrarConfig } from './args.js';
import { ConfigError, Signals, exitWhenDone } from '@sipway/example-kit';
import { describeLeg, startRegistrar } from './server.js';
import { describeStore } from '@sipway/example-kit';

async function main(argv: readonly string[]): Promise<number> {
  let config: RegistrarConfig;
  try {
    const cli = parseCliArgs(argv);
    if (cli.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    config = cli.config;
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    process.stderr.write(`sipway-registrar: ${error.message}\n`);
    return 2;
  }

  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  // "listening" lines are the readiness signal: printed whatever the log level.
  const ready = logger.child({}, { level: 'info' });
  // Taken from the first moment, so a signal during start-up still ends in an orderly close.
  const signals = new Signals();
  let running;
  try {
    running = await startRegistrar(config, logger);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, 'cannot start');
    process.stderr.write(`sipway-registrar: cannot start: ${message}\n`);
    const code = (error as { code?: string }).code;
    return code === LEG_ERROR_CODES.INVALID_OPTIONS || code === REGISTRAR_ERROR_CODES.INVALID_OPTIONS || code === AUTH_ERROR_CODES.INVALID_OPTIONS ? 2 : 1;
  }
  for (const leg of running.legs) ready.info({ leg: describeLeg(leg), contact: leg.contact }, `listening on ${describeLeg(leg)}`);
  if (running.admin !== undefined) ready.info({ admin: running.admin.url }, `admin listening on ${running.admin.url}`);
  logger.info(
    {
      domains: config.domains,
      store: describeStore(config.store),
      auth: config.users.size > 0 ? { realm: config.realm, users: config.users.size, algorithms: config.algorithms } : false,
      rateLimit: config.rateLimit ?? false,
    },
    'registrar on',
  );

  return signals.closeOnSignal(running, logger, ready, { closing: 'closing', timeout: 'did not close within 5 s; exiting anyway' });
}

exitWhenDone('sipway-registrar', main(process.argv.slice(2)));
