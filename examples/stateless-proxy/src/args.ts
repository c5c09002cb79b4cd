import { parseArgs } from 'node:util';
import { ConfigError } from '@sipway/example-kit';
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
  --domain D              serve domain D, and relay only for D (repeatable); '*' = any
                          domain, the default: an OPEN RELAY (a warning says so)
  --proxy host[:port]     send every request through this outbound proxy
  --contact-key KEY       key of the Contact rewriter (hex or base64:…, ≥ 16 bytes;
                          default SIPWAY_CONTACT_KEY, else random per process)
  --contact-lifetime T    how long a Contact token stays valid: seconds or 90s, 30m,
                          12h, 7d (default 7d; 0 = no limit, as before tokens had a time)
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
  --auth-lockout L        digest brute-force lock-out: off, or key=value,… (source-failures,
                          window, source-lockout, max-source-lockout, user-failures,
                          user-lockout, max-user-lockout, nonce-failures, trusted-for,
                          allow=CIDR;CIDR, ipv6-prefix); default on: 10 failures/60 s lock a source
                          out for 60 s (doubling, at most 1 h), 30 lock a user for 30 s
  --rate-limit N[/S]|off  at most N requests per source address per S seconds (default 1),
                          then 503 with Retry-After; default 50/1
  --rate-limit-allow CIDR never rate-limited (repeatable)
  --max-connections N     sockets per tcp/tls/ws/wss leg, in and out, handshakes
                          included (default 1024); when full, the longest-idle one
                          (idle ≥ 10 s) is closed for a new one
  --max-connections-per-source N
                          inbound sockets per source address per leg (default 32;
                          0 = no limit); IPv6 counts per --source-prefix-v6
  --source-prefix-v6 N    IPv6 prefix length that counts as one source (default 64)
  --message-timeout-ms MS a SIP message over tcp/tls must be complete MS after its
                          first byte (default 20000; 0 = none)
  --handshake-timeout-ms MS
                          TLS handshake / WebSocket upgrade deadline after the
                          accept (default 10000; 0 = none)
  --idle-timeout S        close a tcp, tls, ws or wss connection idle for S seconds
                          (default 120; 0 = never); a registered client's connection
                          stays open while its binding lives (RFC 5626)
  --close-idle-flows      close idle connections even when a client registered over
                          them (then it cannot be called once they close)
  --flow-timer S          Flow-Timer (seconds) in the 200 to RFC 5626 outbound REGISTERs:
                          how often clients send their CRLF keep-alive (default: not sent)
  --media M               relay RTP between the legs: builtin[:PORTMIN-PORTMAX] (in-process,
                          default ports 30000-39999) or rtpengine:HOST:PORT; off by default
  --media-timeout S       built-in relay: end a call whose media stopped for S seconds
                          (default 60)
  --relay-allow CIDR      relay requests from these sources to any target (repeatable);
                          others only reach served domains, registered users and dialogs
                          recorded here (authenticated users may also call out)
  --allow-destination CIDR  send to this block even if loopback, link-local, private or
                          the proxy's own address (repeatable)
  --allow-private         send to any private address (RFC 1918, fc00::/7)
  --route-secret KEY      HMAC key of the Record-Route signatures, the same on every proxy
                          (≥ 16 bytes; default derived from the contact key)
  --max-bindings N        registrar: bindings per AOR, more → 403 (default 10)
  --max-aors-per-source N registrar: AORs one source address may register, more → 403
                          (default 100, counted per process; 0 = no cap)
  --max-aors N            registrar: AORs in the store, a new one beyond → 503 with
                          Retry-After (default 100000; 0 = no cap)
  --registrar-trusted CIDR  exempt from --max-aors-per-source, e.g. an SBC (repeatable)
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
        'contact-lifetime': { type: 'string' },
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
        'max-connections': { type: 'string' },
        'max-connections-per-source': { type: 'string' },
        'source-prefix-v6': { type: 'string' },
        'message-timeout-ms': { type: 'string' },
        'handshake-timeout-ms': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'close-idle-flows': { type: 'boolean' },
        'flow-timer': { type: 'string' },
        'relay-allow': { type: 'string', multiple: true },
        'allow-destination': { type: 'string', multiple: true },
        'allow-private': { type: 'boolean' },
        'route-secret': { type: 'string' },
        'auth-lockout': { type: 'string' },
        'max-bindings': { type: 'string' },
        'max-aors-per-source': { type: 'string' },
        'max-aors': { type: 'string' },
        'registrar-trusted': { type: 'string', multiple: true },
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
      contactLifetime: v['contact-lifetime'],
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
      maxConnections: v['max-connections'],
      maxConnectionsPerSource: v['max-connections-per-source'],
      sourcePrefixV6: v['source-prefix-v6'],
      messageTimeoutMs: v['message-timeout-ms'],
      handshakeTimeoutMs: v['handshake-timeout-ms'],
      idleTimeout: v['idle-timeout'],
      closeIdleFlows: v['close-idle-flows'],
      flowTimer: v['flow-timer'],
      media: v.media,
      mediaTimeout: v['media-timeout'],
      relayAllow: v['relay-allow'],
      allowDestination: v['allow-destination'],
      allowPrivate: v['allow-private'],
      routeSecret: v['route-secret'],
      authLockout: v['auth-lockout'],
      maxBindings: v['max-bindings'],
      maxAorsPerSource: v['max-aors-per-source'],
      maxAors: v['max-aors'],
      registrarTrusted: v['registrar-trusted'],
    },
  };
}
