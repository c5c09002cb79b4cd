import { parseArgs } from 'node:util';
import { ConfigError } from './errors.js';
import { LOG_LEVELS } from './config.js';
import type { ConfigInput, LogLevel } from './config.js';

/** What the command line asked for. */
export interface CliArgs {
  help: boolean;
  configFile?: string | undefined;
  /** Flags as config input: set only when given. */
  flags: ConfigInput;
}

export const USAGE = `usage: sipway-proxy [options]

  --leg proto:host:port   listen here (repeatable); proto is udp, tcp, tls, ws or wss;
                          IPv6 as [::1]; default: udp and tcp on 127.0.0.1:5060
  --registrar             answer REGISTER for the served domains on every leg
                          (on by default only when no leg and no config file is given)
  --domain D              serve domain D (repeatable; '*' = any, the default)
  --proxy host[:port]     send every request through this outbound proxy
  --contact-key KEY       key of the Contact rewriter (hex or base64:…, ≥ 16 bytes;
                          default SIPWAY_CONTACT_KEY, else random per process)
  --tls-cert FILE         certificate (PEM) for tls and wss legs
  --tls-key FILE          private key (PEM) for tls and wss legs
  --store S               registrar's location store: memory (default), file:PATH
                          (snapshot, survives restarts) or redis://host:port/db (shared
                          by several proxies)
  --auth-user user:pass   require digest authentication (repeatable, one per user):
                          401 for REGISTER, 407 for proxied requests
  --auth-realm R          realm of the challenges (default: the first --domain without *)
  --auth-algorithms A,B   digest algorithms offered, in order (default SHA-256,MD5)
  --nonce-secret S        HMAC key of the nonces, the same on every proxy (≥ 16 bytes;
                          default SIPWAY_NONCE_SECRET, else random per process)
  --rate-limit N[/S]      at most N requests per source address per S seconds (default 1),
                          then 503 with Retry-After; off by default
  --rate-limit-allow CIDR never rate-limited (repeatable)
  --media M               relay RTP between the legs: builtin[:PORTMIN-PORTMAX] (in-process,
                          default ports 30000-39999) or rtpengine:HOST:PORT; off by default
  --media-timeout S       built-in relay: end a call whose media stopped for S seconds
                          (default 60)
  --admin host:port       admin HTTP listener: /metrics, /health, /bindings (off by default)
  --log-level L           fatal, error, warn, info (default), debug, trace, silent
  --config FILE           YAML file with the same keys and per-leg settings; flags win
  -h, --help              this text
`;

/** Parses argv (without node and script). A leading `--` (from `pnpm proxy -- …`) is skipped. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        leg: { type: 'string', multiple: true },
        registrar: { type: 'boolean' },
        domain: { type: 'string', multiple: true },
        proxy: { type: 'string' },
        'contact-key': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'log-level': { type: 'string' },
        store: { type: 'string' },
        admin: { type: 'string' },
        media: { type: 'string' },
        'media-timeout': { type: 'string' },
        'auth-user': { type: 'string', multiple: true },
        'auth-realm': { type: 'string' },
        'auth-algorithms': { type: 'string' },
        'nonce-secret': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-limit-allow': { type: 'string', multiple: true },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new ConfigError('USAGE', `${(error as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  let logLevel: LogLevel | undefined;
  if (v['log-level'] !== undefined) {
    const l = v['log-level'].toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(l)) {
      throw new ConfigError('USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    }
    logLevel = l as LogLevel;
  }
  return {
    help: v.help === true,
    configFile: v.config,
    flags: {
      legs: v.leg,
      registrar: v.registrar,
      domain: v.domain,
      proxy: v.proxy,
      contactKey: v['contact-key'],
      tlsCert: v['tls-cert'],
      tlsKey: v['tls-key'],
      logLevel,
      store: v.store,
      admin: v.admin,
      authUser: v['auth-user'],
      authRealm: v['auth-realm'],
      authAlgorithms: v['auth-algorithms'],
      nonceSecret: v['nonce-secret'],
      rateLimit: v['rate-limit'],
      rateLimitAllow: v['rate-limit-allow'],
      media: v.media,
      mediaTimeout: v['media-timeout'],
    },
  };
}
