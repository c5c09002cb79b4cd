/**
 * The proxy's configuration: one validated shape built from a YAML file and command-line flags.
 * Every flag has a key of the same name; per-leg settings live only in the file. Unknown keys and
 * half-configured blocks are start-up errors (STYLE.md §8).
 */
import { readFileSync } from 'node:fs';
import { parseAdminAddress } from '@sipway/admin';
import { DIGEST_ALGORITHMS } from '@sipway/auth';
import { parseContactKey } from '@sipway/contact-rewriter';
import { parseCidr } from '@sipway/proxy';
import type { DigestAlgorithm, LockoutOptions } from '@sipway/auth';
import { parse as parseYaml } from 'yaml';
import { ConfigError, formatLeg, parseLegSpec } from '@sipway/example-kit';
import type { LegSpec, StoreSpec } from '@sipway/example-kit';
import { CONNECTION_KEYS, connectionLimits } from './connection-limits.js';
import type { ConnectionLimitsConfig, ConnectionLimitsInput } from './connection-limits.js';
import { checkMediaLegs, parseMediaSpec } from './media.js';
import type { MediaSpec } from './media.js';
import { lockoutConfig, rateLimitConfig, registrarLimits } from './limits.js';
import type { RegistrarLimits } from './limits.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One leg, fully resolved. */
export interface LegConfig extends LegSpec {
  /** Name or address written in Via and Record-Route instead of the bound address. */
  host?: string | undefined;
  /** Answer REGISTER arriving on this leg. */
  registrar: boolean;
  /** Domains served on this leg's side (Net::SIP's per-leg `--domain`). */
  domains: string[];
  /** Next hop for requests to this leg's domains (or for every request when the leg has none). */
  proxy?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** WebSocket URL path (ws/wss legs). */
  wsPath?: string | undefined;
  /** UDP legs: kernel receive buffer in bytes (SO_RCVBUF, capped by net.core.rmem_max). */
  receiveBuffer?: number | undefined;
  /** tcp/tls/ws/wss legs: idle close in ms (0 = never) and whether registered flows stay open. */
  idleTimeoutMs?: number | undefined;
  keepRegisteredFlows?: boolean | undefined;
}

/**
 * Default UDP receive buffer: 4 MiB. The OS default (about 208 KiB on Linux, ~100 SIP datagrams)
 * overflows during a 10 ms pause of the event loop at 10 000 messages/s; SIP proxies (Kamailio's
 * `maxbuffer`) raise it for the same reason.
 */
export const DEFAULT_UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** Where the registrar keeps its bindings (`--store`). */
export type { StoreSpec };

/** Digest authentication (`--auth-user` and friends); absent when no user is configured. */
export interface AuthConfig {
  /** user → password. */
  users: Map<string, string>;
  realm: string;
  algorithms: DigestAlgorithm[];
  nonceSecret?: string | undefined;
  /** Brute-force lock-out (`--auth-lockout`); false = off. */
  lockout: LockoutOptions | false;
}

/** Everything the proxy starts with. */
export interface ProxyConfig {
  legs: LegConfig[];
  /** Union of the legs' domains: what the proxy serves. */
  domains: string[];
  /** Outbound proxy for every request not covered by a leg's `proxy`. */
  proxy?: string | undefined;
  contactKey?: string | undefined;
  /** Seconds a Contact token stays valid; 0 = no limit; undefined = the library's default (7 days). */
  contactLifetime?: number | undefined;
  logLevel: LogLevel;
  store: StoreSpec;
  auth?: AuthConfig | undefined;
  /** At most `points` requests per source address per `duration` seconds, then 503 (default 50/1; undefined = off). */
  rateLimit?: { points: number; duration: number; allow: string[] } | undefined;
  /** The registrar's caps on bindings and AORs. */
  registrarLimits: RegistrarLimits;
  /** Admin HTTP listener: /metrics, /health, /bindings. */
  admin?: { host: string; port: number } | undefined;
  /** Limits and deadlines of the stream legs (connection-limits.ts). */
  connections: ConnectionLimitsConfig;
  /** Seconds in Flow-Timer of the registrar's 200 to outbound REGISTERs (RFC 5626 §4.4.1). */
  flowTimer?: number | undefined;
  /** RTP relay between the legs (`--media`). */
  media?: MediaSpec | undefined;
  /** Key of the Record-Route signatures (`--route-secret`); default derived from the contact key. */
  routeSecret?: string | undefined;
  /** Sources whose requests are relayed to any target (`--relay-allow`, CIDR). */
  relayAllow: string[];
  /** Destination blocks allowed although loopback, link-local, private or ours (`--allow-destination`). */
  allowDestinations: string[];
  /** Allow every private destination (`--allow-private`). */
  allowPrivate: boolean;
}

/** Default idle close of connection-oriented legs, seconds (the legs' own default). */
export const DEFAULT_IDLE_TIMEOUT_S = 120;

/** Settings as given on the command line or at the top of the file (all optional). */
export interface ConfigInput extends ConnectionLimitsInput {
  legs?: Array<string | LegInput> | undefined;
  registrar?: boolean | undefined;
  domain?: string[] | undefined;
  proxy?: string | undefined;
  contactKey?: string | undefined;
  contactLifetime?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  logLevel?: LogLevel | undefined;
  store?: string | undefined;
  admin?: string | undefined;
  authUser?: string[] | undefined;
  authRealm?: string | undefined;
  authAlgorithms?: string | undefined;
  nonceSecret?: string | undefined;
  rateLimit?: string | undefined;
  rateLimitAllow?: string[] | undefined;
  /** Seconds, as text (flag) or number (file). */
  idleTimeout?: string | number | undefined;
  closeIdleFlows?: boolean | undefined;
  /** Seconds, as text (flag) or number (file). */
  flowTimer?: string | number | undefined;
  media?: string | undefined;
  mediaTimeout?: string | undefined;
  routeSecret?: string | undefined;
  relayAllow?: string[] | undefined;
  allowDestination?: string[] | undefined;
  allowPrivate?: boolean | undefined;
  authLockout?: string | Record<string, unknown> | undefined;
  maxBindings?: string | undefined;
  maxAorsPerSource?: string | undefined;
  maxAors?: string | undefined;
  registrarTrusted?: string[] | undefined;
}

/** One leg of the file. */
export interface LegInput {
  leg: string;
  host?: string | undefined;
  registrar?: boolean | undefined;
  domain?: string[] | undefined;
  proxy?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  wsPath?: string | undefined;
  receiveBuffer?: number | undefined;
}

const TOP_KEYS: Record<string, keyof ConfigInput> = {
  legs: 'legs',
  registrar: 'registrar',
  domain: 'domain',
  proxy: 'proxy',
  'contact-key': 'contactKey',
  'contact-lifetime': 'contactLifetime',
  'tls-cert': 'tlsCert',
  'tls-key': 'tlsKey',
  'log-level': 'logLevel',
  store: 'store',
  admin: 'admin',
  'auth-user': 'authUser',
  'auth-realm': 'authRealm',
  'auth-algorithms': 'authAlgorithms',
  'nonce-secret': 'nonceSecret',
  'rate-limit': 'rateLimit',
  'rate-limit-allow': 'rateLimitAllow',
  ...CONNECTION_KEYS,
  'idle-timeout': 'idleTimeout',
  'close-idle-flows': 'closeIdleFlows',
  'flow-timer': 'flowTimer',
  media: 'media',
  'media-timeout': 'mediaTimeout',
  'route-secret': 'routeSecret',
  'relay-allow': 'relayAllow',
  'allow-destination': 'allowDestination',
  'allow-private': 'allowPrivate',
  'auth-lockout': 'authLockout',
  'max-bindings': 'maxBindings',
  'max-aors-per-source': 'maxAorsPerSource',
  'max-aors': 'maxAors',
  'registrar-trusted': 'registrarTrusted',
};
const LEG_KEYS: Record<string, keyof LegInput> = {
  leg: 'leg',
  host: 'host',
  registrar: 'registrar',
  domain: 'domain',
  proxy: 'proxy',
  'tls-cert': 'tlsCert',
  'tls-key': 'tlsKey',
  'ws-path': 'wsPath',
  'receive-buffer': 'receiveBuffer',
};

function invalid(where: string, message: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', `${where}: ${message}`);
}

function str(where: string, key: string, v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || v.trim() === '') throw invalid(where, `${key} must be a non-empty string`);
  return v.trim();
}

function bool(where: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(where, `${key} must be true or false`);
  return v;
}

function strList(where: string, key: string, v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw invalid(where, `${key} must not be empty`);
  return list.map((x) => str(where, key, x));
}

function logLevel(where: string, v: unknown): LogLevel {
  const s = str(where, 'log-level', v).toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(s)) throw invalid(where, `log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return s as LogLevel;
}

function object(where: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(where, 'must be a mapping of keys to values');
  return v as Record<string, unknown>;
}

function unknownKey(where: string, key: string, known: Record<string, unknown>): ConfigError {
  return invalid(where, `unknown key "${key}" (known: ${Object.keys(known).join(', ')})`);
}

function legFromFile(where: string, raw: unknown): string | LegInput {
  if (typeof raw === 'string') return raw;
  const o = object(where, raw);
  const out: Partial<LegInput> = {};
  for (const [k, v] of Object.entries(o)) {
    const name = LEG_KEYS[k];
    if (name === undefined) throw unknownKey(where, k, LEG_KEYS);
    if (v === null || v === undefined) continue;
    if (name === 'registrar') out.registrar = bool(where, k, v);
    else if (name === 'domain') out.domain = strList(where, k, v);
    else if (name === 'receiveBuffer') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1024 || v > 2 ** 31 - 1) {
        throw invalid(where, `${k} must be a whole number of bytes, at least 1024`);
      }
      out.receiveBuffer = v;
    }
    else out[name] = str(where, k, v);
  }
  if (out.leg === undefined) throw invalid(where, 'a leg needs the key "leg" (proto:host:port)');
  return out as LegInput;
}

/** Validates a parsed YAML document (top-level mapping). */
export function configFromObject(doc: unknown, where = 'config'): ConfigInput {
  if (doc === null || doc === undefined) return {};
  const o = object(where, doc);
  const out: ConfigInput = {};
  for (const [k, v] of Object.entries(o)) {
    const name = TOP_KEYS[k];
    if (name === undefined) throw unknownKey(where, k, TOP_KEYS);
    if (v === null || v === undefined) continue;
    switch (name) {
      case 'legs': {
        if (!Array.isArray(v) || v.length === 0) throw invalid(where, 'legs must be a non-empty list');
        out.legs = v.map((item, i) => legFromFile(`${where}: legs[${i}]`, item));
        break;
      }
      case 'registrar':
      case 'closeIdleFlows':
      case 'allowPrivate':
        out[name] = bool(where, k, v);
        break;
      case 'idleTimeout':
      case 'flowTimer':
        out[name] = typeof v === 'number' ? v : str(where, k, v);
        break;
      case 'domain':
      case 'authUser':
      case 'rateLimitAllow':
      case 'relayAllow':
      case 'allowDestination':
      case 'registrarTrusted':
        out[name] = strList(where, k, v);
        break;
      case 'authLockout':
        // off/false, on/true, key=value,… or a mapping of the same keys.
        out.authLockout = typeof v === 'object' && !Array.isArray(v) ? object(where, v) : typeof v === 'boolean' ? String(v) : str(where, k, v);
        break;
      case 'authAlgorithms':
        out.authAlgorithms = Array.isArray(v) ? strList(where, k, v).join(',') : str(where, k, v);
        break;
      case 'logLevel':
        out.logLevel = logLevel(where, v);
        break;
      default:
        out[name] = str(where, k, v);
    }
  }
  return out;
}

/** Reads and validates a YAML config file. */
export function loadConfigFile(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_FILE', `cannot read config file ${path}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError('CONFIG_FILE', `config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  return configFromObject(doc, path);
}

function pair(where: string, cert: string | undefined, key: string | undefined): void {
  if ((cert === undefined) !== (key === undefined)) {
    throw invalid(where, `tls-cert and tls-key go together (only ${cert === undefined ? 'tls-key' : 'tls-cert'} is set)`);
  }
}

/**
 * Merges file and flags (flags win; `--leg` replaces the file's legs) and applies defaults:
 * no legs at all → udp and tcp on 127.0.0.1:5060 with a registrar; no domain → `*`.
 */
export function resolveConfig(file: ConfigInput, flags: ConfigInput): ProxyConfig {
  const where = 'configuration';
  const g: ConfigInput = { ...file };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) (g as Record<string, unknown>)[k] = v;
  pair(where, g.tlsCert, g.tlsKey);
  const defaultSetup = g.legs === undefined;
  const legInputs: Array<string | LegInput> = g.legs ?? ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060'];
  const globalDomains = g.domain ?? ['*'];
  const globalRegistrar = g.registrar ?? defaultSetup;
  const idleTimeoutMs = idleTimeout(g.idleTimeout);
  const seen = new Set<string>();
  const legs = legInputs.map((input, i): LegConfig => {
    const li: LegInput = typeof input === 'string' ? { leg: input } : input;
    const w = `legs[${i}] (${li.leg})`;
    const spec = parseLegSpec(li.leg);
    const id = formatLeg(spec);
    if (spec.port !== 0 && seen.has(id)) throw invalid(w, 'the same leg is given twice');
    seen.add(id);
    pair(w, li.tlsCert, li.tlsKey);
    const tlsCert = li.tlsCert ?? g.tlsCert;
    const tlsKey = li.tlsKey ?? g.tlsKey;
    if ((spec.transport === 'tls' || spec.transport === 'wss') && (tlsCert === undefined || tlsKey === undefined)) {
      throw invalid(w, `a ${spec.transport} leg needs tls-cert and tls-key`);
    }
    if (li.wsPath !== undefined && spec.transport !== 'ws' && spec.transport !== 'wss') {
      throw invalid(w, 'ws-path applies to ws and wss legs only');
    }
    if (li.receiveBuffer !== undefined && spec.transport !== 'udp') throw invalid(w, 'receive-buffer applies to udp legs only');
    const streamLeg = spec.transport !== 'udp';
    return {
      ...spec,
      host: li.host,
      registrar: li.registrar ?? globalRegistrar,
      domains: li.domain ?? globalDomains,
      proxy: li.proxy,
      tlsCert: spec.transport === 'tls' || spec.transport === 'wss' ? tlsCert : undefined,
      tlsKey: spec.transport === 'tls' || spec.transport === 'wss' ? tlsKey : undefined,
      wsPath: li.wsPath,
      receiveBuffer: spec.transport === 'udp' ? (li.receiveBuffer ?? DEFAULT_UDP_RECEIVE_BUFFER) : undefined,
      idleTimeoutMs: streamLeg ? idleTimeoutMs * 1000 : undefined,
      keepRegisteredFlows: streamLeg ? g.closeIdleFlows !== true : undefined,
    };
  });
  const domains = [...new Set(legs.flatMap((l) => l.domains.map((d) => d.toLowerCase())))];
  const store = parseStoreSpec(g.store ?? 'memory');
  if (store.kind !== 'memory' && !legs.some((l) => l.registrar)) {
    throw invalid(where, 'store is the registrar\'s: give --registrar (or registrar: true on a leg)');
  }
  if (g.media === undefined && g.mediaTimeout !== undefined) throw invalid(where, 'media-timeout needs media');
  const media = g.media === undefined ? undefined : parseMediaSpec(g.media, g.mediaTimeout);
  // rtpengine writes its own addresses into SDP: only the built-in relay needs specific leg addresses.
  if (media?.kind === 'builtin') checkMediaLegs(legs);
  return {
    legs,
    domains,
    proxy: g.proxy,
    contactKey: g.contactKey,
    contactLifetime: g.contactLifetime === undefined ? undefined : parseContactLifetime(g.contactLifetime),
    logLevel: g.logLevel ?? 'info',
    store,
    auth: authConfig(g, domains),
    rateLimit: rateLimitConfig(g),
    registrarLimits: registrarLimits(g, legs.some((l) => l.registrar)),
    admin: g.admin === undefined ? undefined : adminAddress(g.admin),
    connections: connectionLimits(g),
    flowTimer: flowTimer(g.flowTimer, legs),
    media,
    routeSecret: g.routeSecret === undefined ? undefined : routeSecret(g.routeSecret),
    relayAllow: cidrs('relay-allow', g.relayAllow),
    allowDestinations: cidrs('allow-destination', g.allowDestination),
    allowPrivate: g.allowPrivate ?? false,
  };
}

/** `--idle-timeout`: whole seconds, 0 (never) up to a day. */
function idleTimeout(v: string | number | undefined): number {
  if (v === undefined) return DEFAULT_IDLE_TIMEOUT_S;
  const text = String(v).trim();
  if (!/^\d{1,6}$/.test(text) || Number(text) > 86_400) {
    throw invalid('configuration', `idle-timeout "${text}": expected whole seconds from 0 (never) to 86400`);
  }
  return Number(text);
}

/** `--flow-timer`: whole seconds from 1 to 86400, for a registrar on a connection leg. */
function flowTimer(v: string | number | undefined, legs: readonly LegConfig[]): number | undefined {
  if (v === undefined) return undefined;
  const text = String(v).trim();
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > 86_400) {
    throw invalid('configuration', `flow-timer "${text}": expected whole seconds from 1 to 86400`);
  }
  if (!legs.some((l) => l.registrar)) throw invalid('configuration', 'flow-timer is the registrar\'s: give --registrar (or registrar: true on a leg)');
  return Number(text);
}

function cidrs(key: string, list: string[] | undefined): string[] {
  for (const text of list ?? []) {
    if (parseCidr(text) === undefined) throw invalid('configuration', `${key} "${text}": expected an IP address or CIDR block (10.0.0.0/8, 2001:db8::/32)`);
  }
  return list ?? [];
}

function routeSecret(text: string): string {
  try {
    parseContactKey(text, 'route-secret');
  } catch (error) {
    throw invalid('configuration', (error as Error).message);
  }
  return text;
}

/**
 * `contact-lifetime`: whole seconds, or a number with s, m, h or d (`7d`); 0 = no limit. At least
 * 60 s (a token must outlive the registration refresh and the call it is in), at most 2^32-1 s.
 */
export function parseContactLifetime(text: string): number {
  const m = /^(\d{1,12})\s*([smhd]?)$/i.exec(text.trim());
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[(m?.[2] ?? '').toLowerCase()];
  const seconds = m === null || unit === undefined ? Number.NaN : Number(m[1]) * unit;
  if (!Number.isInteger(seconds) || (seconds !== 0 && seconds < 60) || seconds > 0xffffffff) {
    throw invalid('configuration', `contact-lifetime "${text}": expected 0 (no limit) or 60 s to 136 years, as seconds or with s, m, h, d (e.g. 7d)`);
  }
  return seconds;
}

/** `memory`, `file:PATH[?flushIntervalMs=N]` or `redis://host:port/db` (`rediss://` for TLS). */
export function parseStoreSpec(text: string): StoreSpec {
  const t = text.trim();
  if (t === 'memory') return { kind: 'memory' };
  if (t.startsWith('file:') && t.length > 'file:'.length) return { kind: 'file', url: t };
  if (/^rediss?:\/\/./.test(t)) return { kind: 'redis', url: t };
  throw invalid('configuration', `store "${text}": expected memory, file:PATH or redis://host:port/db`);
}

function adminAddress(text: string): { host: string; port: number } {
  try {
    return parseAdminAddress(text);
  } catch (error) {
    throw invalid('configuration', `admin: ${(error as Error).message}`);
  }
}

function authConfig(g: ConfigInput, domains: readonly string[]): AuthConfig | undefined {
  const where = 'configuration';
  const users = new Map<string, string>();
  for (const text of g.authUser ?? []) {
    const colon = text.indexOf(':');
    // The password may hold colons, the user name may not (RFC 2617 §2: user-pass = userid ":" password).
    if (colon <= 0 || colon === text.length - 1) throw invalid(where, `auth-user "${text.slice(0, Math.max(colon, 0))}…": expected user:password`);
    const user = text.slice(0, colon);
    if (users.has(user)) throw invalid(where, `auth-user ${user} given twice`);
    users.set(user, text.slice(colon + 1));
  }
  if (users.size === 0) {
    if (g.authRealm !== undefined || g.authAlgorithms !== undefined || g.nonceSecret !== undefined) {
      throw invalid(where, 'auth-realm, auth-algorithms and nonce-secret need at least one auth-user');
    }
    lockoutConfig(g, false);
    return undefined;
  }
  const realm = g.authRealm ?? domains.find((d) => !d.includes('*'));
  if (realm === undefined) throw invalid(where, 'authentication needs a realm: give --auth-realm or a --domain other than *');
  const algorithms = (g.authAlgorithms ?? 'SHA-256,MD5').split(',').map((a) => a.trim().toUpperCase());
  for (const a of algorithms) {
    if (!(DIGEST_ALGORITHMS as readonly string[]).includes(a)) throw invalid(where, `auth-algorithms: unknown algorithm ${a} (known: ${DIGEST_ALGORITHMS.join(', ')})`);
  }
  if (new Set(algorithms).size !== algorithms.length) throw invalid(where, 'auth-algorithms names an algorithm twice');
  return { users, realm, algorithms: algorithms as DigestAlgorithm[], nonceSecret: g.nonceSecret, lockout: lockoutConfig(g, true) };
}
