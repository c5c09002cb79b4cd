import { parseArgs } from 'node:util';
import { parseAdminAddress } from '@sipway/admin';
import { DIGEST_ALGORITHMS, parseLockoutOptions } from '@sipway/auth';
import type { DigestAlgorithm, LockoutOptions } from '@sipway/auth';
import { ConfigError, parseLegSpec } from '@sipway/example-kit';
import type { LegSpec, StoreSpec } from '@sipway/example-kit';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where bindings live. */
export type { StoreSpec };

/** Everything the command line asked for, validated. */
export interface RegistrarConfig {
  legs: LegSpec[];
  domains: string[];
  store: StoreSpec;
  /** user → password; empty = no authentication. */
  users: Map<string, string>;
  realm: string | undefined;
  algorithms: DigestAlgorithm[];
  nonceSecret: string | undefined;
  /** Digest brute-force lock-out; false = off. */
  lockout: LockoutOptions | false;
  /** Per source address; undefined = off (`--rate-limit off`). Default 50/1. */
  rateLimit: { points: number; duration: number } | undefined;
  rateLimitAllow: string[];
  admin: { host: string; port: number } | undefined;
  minExpires: number | undefined;
  maxExpires: number | undefined;
  /** Bindings per AOR (403 beyond). */
  maxBindings: number;
  /** AORs per source address, per process (403 beyond); 0 = no cap. */
  maxAorsPerSource: number;
  /** AORs in the store (503 beyond); 0 = no cap. */
  maxAors: number;
  /** Exempt from maxAorsPerSource. */
  registrarTrusted: string[];
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  logLevel: LogLevel;
}

export const USAGE = `usage: sipway-registrar [options]

  --leg proto:host:port     listen here (repeatable); proto is udp, tcp, tls, ws or wss;
                            IPv6 as [::1]; port 0 = any free port; default udp:127.0.0.1:5060
  --domain D                answer REGISTER for domain D (repeatable; *.example.com for
                            subdomains, * for any; default *)
  --store S                 memory (default), file:PATH (snapshot file, survives restarts)
                            or redis://host:port/db (shared by several registrars)
  --auth-user user:password require digest authentication; repeatable, one per user
  --auth-realm R            realm of the challenges (default: the first --domain without *)
  --auth-algorithms A,B     digest algorithms offered, in order (default SHA-256,MD5;
                            MD5,SHA-256 for clients that read only the first challenge)
  --nonce-secret S          HMAC key of the nonces, the same on every node (≥ 16 bytes;
                            default SIPWAY_NONCE_SECRET, else random per process)
  --auth-lockout L          digest brute-force lock-out: off, or key=value,… (source-failures,
                            window, source-lockout, max-source-lockout, user-failures,
                            user-lockout, max-user-lockout, nonce-failures, trusted-for,
                            allow=CIDR;CIDR, ipv6-prefix); default on: 10 failures/60 s lock a source
                            out for 60 s (doubling, at most 1 h), 30 lock a user for 30 s
  --rate-limit N[/S]|off    at most N requests per source address per S seconds (default 1),
                            then 503 with Retry-After; default 50/1
  --rate-limit-allow CIDR   never rate-limited (repeatable)
  --max-bindings N          bindings per AOR, more → 403 (default 10)
  --max-aors-per-source N   AORs one source address may register, more → 403 (default 100,
                            counted per process; 0 = no cap)
  --max-aors N              AORs in the store, a new one beyond → 503 with Retry-After
                            (default 100000; 0 = no cap)
  --registrar-trusted CIDR  exempt from --max-aors-per-source, e.g. a proxy (repeatable)
  --min-expires S           shortest registration accepted, else 423 (default 30)
  --max-expires S           longest registration granted (default 300)
  --tls-cert FILE           certificate (PEM) for tls and wss legs
  --tls-key FILE            private key (PEM) for tls and wss legs
  --admin host:port         admin HTTP listener: /metrics, /health, /bindings (off by default)
  --log-level L             fatal, error, warn, info (default), debug, trace, silent
  -h, --help                this text
`;

function usage(message: string): ConfigError {
  return new ConfigError('USAGE', `${message}\n\n${USAGE}`);
}

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw usage(`--${name} must be an integer ≥ ${min} (got "${text}")`);
  return n;
}

export function parseStoreSpec(text: string): StoreSpec {
  const t = text.trim();
  if (t === 'memory') return { kind: 'memory' };
  if (t.startsWith('file:') && t.length > 'file:'.length) return { kind: 'file', url: t };
  if (/^rediss?:\/\/./.test(t)) return { kind: 'redis', url: t };
  throw new ConfigError('STORE_SPEC', `--store "${text}": expected memory, file:PATH or redis://host:port/db`);
}

function parseUser(text: string): [string, string] {
  const colon = text.indexOf(':');
  // The password may hold colons; the user name may not (RFC 2617 §2: user-pass = userid ":" password).
  if (colon <= 0 || colon === text.length - 1) throw new ConfigError('AUTH', `--auth-user "${text.slice(0, Math.max(colon, 0))}…": expected user:password`);
  return [text.slice(0, colon), text.slice(colon + 1)];
}

/** Parses argv (without node and script); a leading `--` (from `pnpm start -- …`) is skipped. */
export function parseCliArgs(argv: readonly string[]): { help: true } | { help: false; config: RegistrarConfig } {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        leg: { type: 'string', multiple: true },
        domain: { type: 'string', multiple: true },
        store: { type: 'string' },
        'auth-user': { type: 'string', multiple: true },
        'auth-realm': { type: 'string' },
        'auth-algorithms': { type: 'string' },
        'nonce-secret': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-limit-allow': { type: 'string', multiple: true },
        'auth-lockout': { type: 'string' },
        'max-bindings': { type: 'string' },
        'max-aors-per-source': { type: 'string' },
        'max-aors': { type: 'string' },
        'registrar-trusted': { type: 'string', multiple: true },
        'min-expires': { type: 'string' },
        'max-expires': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        admin: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return { help: true };

  const legs = (v.leg ?? ['udp:127.0.0.1:5060']).map(parseLegSpec);
  const domains = v.domain ?? ['*'];
  for (const d of domains) {
    if (!/^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/.test(d)) throw usage(`--domain "${d}" is not a host name, *.domain or *`);
  }
  const secure = legs.some((l) => l.transport === 'tls' || l.transport === 'wss');
  if (secure && (v['tls-cert'] === undefined || v['tls-key'] === undefined)) throw usage('tls and wss legs need --tls-cert and --tls-key');

  const users = new Map<string, string>();
  for (const text of v['auth-user'] ?? []) {
    const [user, password] = parseUser(text);
    if (users.has(user)) throw new ConfigError('AUTH', `--auth-user ${user} given twice`);
    users.set(user, password);
  }
  const realm = v['auth-realm'] ?? domains.find((d) => !d.includes('*'));
  if (users.size > 0 && realm === undefined) throw new ConfigError('AUTH', 'authentication needs a realm: give --auth-realm or a --domain without *');
  if (users.size === 0 && (v['auth-realm'] !== undefined || v['auth-algorithms'] !== undefined || v['nonce-secret'] !== undefined)) {
    throw new ConfigError('AUTH', '--auth-realm, --auth-algorithms and --nonce-secret need at least one --auth-user');
  }
  const algorithms = (v['auth-algorithms'] ?? 'SHA-256,MD5').split(',').map((a) => a.trim().toUpperCase());
  for (const a of algorithms) {
    if (!(DIGEST_ALGORITHMS as readonly string[]).includes(a)) throw new ConfigError('AUTH', `--auth-algorithms: unknown algorithm ${a} (known: ${DIGEST_ALGORITHMS.join(', ')})`);
  }
  if (new Set(algorithms).size !== algorithms.length) throw new ConfigError('AUTH', '--auth-algorithms names an algorithm twice');

  let rateLimit: RegistrarConfig['rateLimit'];
  const rateText = (v['rate-limit'] ?? '50/1').trim();
  if (rateText !== 'off') {
    const m = /^(\d+)(?:\/(\d+))?$/.exec(rateText);
    if (m === null || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) throw usage(`--rate-limit "${v['rate-limit']}": expected N or N/SECONDS, both ≥ 1, or off`);
    rateLimit = { points: Number(m[1]), duration: m[2] === undefined ? 1 : Number(m[2]) };
  } else if (v['rate-limit-allow'] !== undefined) {
    throw usage('--rate-limit-allow needs --rate-limit (it is off)');
  }

  let lockout: LockoutOptions | false = {};
  if (v['auth-lockout'] !== undefined) {
    if (users.size === 0) throw new ConfigError('AUTH', '--auth-lockout needs at least one --auth-user');
    try {
      lockout = parseLockoutOptions(v['auth-lockout']);
    } catch (error) {
      throw usage(`--auth-lockout: ${(error as Error).message.replace(/^lockout:? ?/, '')}`);
    }
  }

  let admin: RegistrarConfig['admin'];
  if (v.admin !== undefined) {
    try {
      admin = parseAdminAddress(v.admin);
    } catch (error) {
      throw usage(`--admin: ${(error as Error).message}`);
    }
  }

  let logLevel: LogLevel = 'info';
  if (v['log-level'] !== undefined) {
    const l = v['log-level'].toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(l)) throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    logLevel = l as LogLevel;
  }

  return {
    help: false,
    config: {
      legs,
      domains,
      store: parseStoreSpec(v.store ?? 'memory'),
      users,
      realm: users.size > 0 ? realm : undefined,
      algorithms: algorithms as DigestAlgorithm[],
      nonceSecret: v['nonce-secret'],
      lockout,
      rateLimit,
      rateLimitAllow: v['rate-limit-allow'] ?? [],
      admin,
      minExpires: integer('min-expires', v['min-expires'], 1),
      maxExpires: integer('max-expires', v['max-expires'], 1),
      maxBindings: integer('max-bindings', v['max-bindings'], 1) ?? 10,
      maxAorsPerSource: integer('max-aors-per-source', v['max-aors-per-source'], 0) ?? 100,
      maxAors: integer('max-aors', v['max-aors'], 0) ?? 100_000,
      registrarTrusted: v['registrar-trusted'] ?? [],
      tlsCert: v['tls-cert'],
      tlsKey: v['tls-key'],
      logLevel,
    },
  };
}
