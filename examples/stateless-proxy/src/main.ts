#!/usr/bin/env node
/**
 * sipway-proxy: the runnable stateless proxy and registrar (Net::SIP's stateless_proxy.pl).
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when the proxy cannot start (a port in use, Redis not
 * answering, an unreadable snapshot), 2 for bad flags or config.
 */
import { pino } from 'pino';
import { LEG_ERROR_CODES } from '@sipway/sip-leg';
import { PROXY_ERROR_CODES } from '@sipway/proxy';
import { ADMIN_ERROR_CODES } from '@sipway/admin';
import { AUTH_ERROR_CODES } from '@sipway/auth';
import { MEDIA_INVALID_OPTIONS } from '@sipway/media-relay';
import { REGISTRAR_ERROR_CODES } from '@sipway/registrar';
import { parseCliArgs, USAGE } from './args.js';
import { loadConfigFile, resolveConfig } from './config.js';
import { ConfigError, Signals, describeStore, exitWhenDone } from '@sipway/example-kit';
import { fdLimitWarning } from './connection-limits.js';
import { describeLeg, startProxy } from './wiring.js';
import type { RunningProxy } from './wiring.js';

/** Error codes of the packages that mean a bad option rather than a failed start: exit 2. */
const OPTION_ERRORS = new Set<string>([
  LEG_ERROR_CODES.INVALID_OPTIONS,
  REGISTRAR_ERROR_CODES.INVALID_OPTIONS,
  AUTH_ERROR_CODES.INVALID_OPTIONS,
  ADMIN_ERROR_CODES.INVALID_OPTIONS,
  PROXY_ERROR_CODES.INVALID_OPTIONS,
  MEDIA_INVALID_OPTIONS,
]);

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

  // Taken from the first moment, so a signal during start-up still ends in an orderly close.
  const signals = new Signals();

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
  // The default Contact rewriter is made on first use: make it now, so a random-key warning shows at start-up.
  void running.proxy.contactRewriter;
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
  else logger.warn({ rateLimit: 'off' }, 'rate limit off (--rate-limit off): one address may send any number of requests');
  const fdWarning = fdLimitWarning(config.connections, config.legs.filter((l) => l.transport !== 'udp').length);
  if (fdWarning !== undefined) logger.warn({ connections: config.connections }, fdWarning);
  if (config.media !== undefined) logger.info({ media: config.media }, 'media relay on');

  return signals.closeOnSignal(running, logger, ready, { closing: 'closing legs', timeout: 'legs did not close within 5 s; exiting anyway' });
}

exitWhenDone('sipway-proxy', main(process.argv.slice(2)));
