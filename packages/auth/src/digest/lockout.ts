import { AuthOptionsError } from '../errors.js';
import { AddressList } from '../rate-limit/address-list.js';
import { sourceKey } from '@sipway/sip-leg';

/**
 * Options of the brute-force lock-out of {@link DigestAuthenticator} (`lockout`). Times in
 * seconds. Failures are wrong digests (wrong password or unknown user, on any nonce) and answers
 * on a nonce that already took `nonceFailures` wrong ones.
 */
export interface LockoutOptions {
  /** Failures from one source address within `window` that lock the source out. Default 10. */
  sourceFailures?: number | undefined;
  /** Seconds over which failures are counted (fixed window from the first failure). Default 60. */
  window?: number | undefined;
  /** First lock-out of a source; each further one (while remembered) doubles. Default 60. */
  sourceLockout?: number | undefined;
  /** Longest source lock-out. Default 3600. */
  maxSourceLockout?: number | undefined;
  /**
   * Failures for one user name (any source) within `window` that lock the user out for sources
   * that never authenticated as that user. Default 30.
   */
  userFailures?: number | undefined;
  /** First user lock-out; doubles up to `maxUserLockout`. Default 30. */
  userLockout?: number | undefined;
  /** Longest user lock-out. Default 300. */
  maxUserLockout?: number | undefined;
  /** Wrong answers one nonce may take; later answers on it get a new challenge, unchecked. Default 1. */
  nonceFailures?: number | undefined;
  /** Seconds a source that authenticated as a user stays exempt from that user's lock-out. Default 86400. */
  trustedFor?: number | undefined;
  /** Never counted nor locked: addresses and CIDR ranges. */
  allow?: readonly string[] | undefined;
  /** Most sources, users and nonces remembered (each); the least recently touched go first. Default 100 000. */
  maxEntries?: number | undefined;
  /** IPv6 sources are counted per prefix of this many bits (one end site has a /64). Default 64; 128 = per address. */
  ipv6Prefix?: number | undefined;
}

/** A lock-out that has just started. */
export interface LockStart {
  scope: 'source' | 'user';
  /** Seconds it lasts. */
  seconds: number;
  /** Failures counted in the window that triggered it. */
  failures: number;
}

interface Counter {
  count: number;
  windowStart: number;
  strikes: number;
  lockedUntil: number;
}

const KNOWN = new Set([
  'sourceFailures', 'window', 'sourceLockout', 'maxSourceLockout', 'userFailures', 'userLockout', 'maxUserLockout', 'nonceFailures',
  'trustedFor', 'allow', 'maxEntries', 'ipv6Prefix',
]);
const TRUSTED_PER_USER = 8;

function count(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > 2 ** 31) throw new AuthOptionsError(`lockout.${name} must be a positive integer (got ${String(v)})`);
  return v;
}

/** A Map that forgets the least recently touched keys beyond `max`. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  get size(): number {
    return this.#map.size;
  }
  peek(key: string): V | undefined {
    return this.#map.get(key);
  }
  touch(key: string, create: () => V): V {
    let v = this.#map.get(key);
    if (v === undefined) v = create();
    else this.#map.delete(key);
    this.#map.set(key, v);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
    return v;
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
}

/**
 * Failure counting per source address, per user and per nonce, fail2ban style: N failures within
 * a window lock the source (or the user) out for a while, doubling on each repeat up to a maximum.
 * A locked source gets no password check at all. A locked user stays reachable from sources that
 * authenticated as that user before (`trustedFor`), so a stranger guessing cannot lock a working
 * phone out; the user lock-out is also shorter. In-process state, bounded by `maxEntries`.
 */
export class Lockout {
  readonly #sourceFailures: number;
  readonly #windowMs: number;
  readonly #sourceLockMs: number;
  readonly #maxSourceLockMs: number;
  readonly #userFailures: number;
  readonly #userLockMs: number;
  readonly #maxUserLockMs: number;
  readonly #nonceFailures: number;
  readonly #trustedMs: number;
  readonly #allow: AddressList;
  readonly #ipv6Prefix: number;
  readonly #sources: Lru<Counter>;
  readonly #users: Lru<Counter>;
  readonly #nonces: Lru<number>;
  readonly #trusted: Lru<Map<string, number>>;

  constructor(options: LockoutOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new AuthOptionsError('lockout must be an object or false');
    for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new AuthOptionsError(`lockout: unknown option "${key}"`);
    this.#sourceFailures = count('sourceFailures', options.sourceFailures, 10);
    this.#windowMs = count('window', options.window, 60) * 1000;
    this.#sourceLockMs = count('sourceLockout', options.sourceLockout, 60) * 1000;
    this.#maxSourceLockMs = count('maxSourceLockout', options.maxSourceLockout, 3600) * 1000;
    this.#userFailures = count('userFailures', options.userFailures, 30);
    this.#userLockMs = count('userLockout', options.userLockout, 30) * 1000;
    this.#maxUserLockMs = count('maxUserLockout', options.maxUserLockout, 300) * 1000;
    this.#nonceFailures = count('nonceFailures', options.nonceFailures, 1);
    this.#trustedMs = count('trustedFor', options.trustedFor, 86_400) * 1000;
    if (this.#maxSourceLockMs < this.#sourceLockMs) throw new AuthOptionsError('lockout.maxSourceLockout must be at least sourceLockout');
    if (this.#maxUserLockMs < this.#userLockMs) throw new AuthOptionsError('lockout.maxUserLockout must be at least userLockout');
    const max = count('maxEntries', options.maxEntries, 100_000);
    this.#ipv6Prefix = count('ipv6Prefix', options.ipv6Prefix, 64);
    if (this.#ipv6Prefix > 128) throw new AuthOptionsError('lockout.ipv6Prefix must be 1..128');
    this.#allow = new AddressList(options.allow ?? []);
    this.#sources = new Lru(max);
    this.#users = new Lru(max);
    this.#nonces = new Lru(max);
    this.#trusted = new Lru(max);
  }

  /**
   * Why this attempt is refused without a check: `source`/`user` (locked out, with the seconds
   * left) or `nonce` (the nonce took its wrong answers); undefined when it may be checked.
   */
  refuse(source: string, user: string, nonce: string, now: number): { scope: 'source' | 'user'; seconds: number } | { scope: 'nonce' } | undefined {
    if (this.#allow.has(source)) return undefined;
    const address = sourceKey(source, this.#ipv6Prefix);
    const s = this.#sources.peek(address);
    if (s !== undefined && s.lockedUntil > now) return { scope: 'source', seconds: Math.ceil((s.lockedUntil - now) / 1000) };
    const u = this.#users.peek(user);
    if (u !== undefined && u.lockedUntil > now && !this.#isTrusted(user, address, now)) {
      return { scope: 'user', seconds: Math.ceil((u.lockedUntil - now) / 1000) };
    }
    if ((this.#nonces.peek(nonce) ?? 0) >= this.#nonceFailures) return { scope: 'nonce' };
    return undefined;
  }

  /** Counts one failure; returns the lock-outs it started (source first). */
  fail(source: string, user: string, nonce: string, now: number): LockStart[] {
    if (this.#allow.has(source)) return [];
    const address = sourceKey(source, this.#ipv6Prefix);
    this.#bumpNonce(nonce);
    const started: LockStart[] = [];
    const s = this.#count(this.#sources.touch(address, fresh), now, this.#sourceFailures, this.#sourceLockMs, this.#maxSourceLockMs);
    if (s !== undefined) started.push({ scope: 'source', ...s });
    const u = this.#count(this.#users.touch(user, fresh), now, this.#userFailures, this.#userLockMs, this.#maxUserLockMs);
    if (u !== undefined) started.push({ scope: 'user', ...u });
    return started;
  }

  /** A right password from `source` as `user`: that source is exempt from the user's lock-out for `trustedFor`. */
  succeed(source: string, user: string, now: number): void {
    const address = sourceKey(source, this.#ipv6Prefix);
    const set = this.#trusted.touch(user, () => new Map());
    set.delete(address);
    set.set(address, now + this.#trustedMs);
    if (set.size > TRUSTED_PER_USER) set.delete(set.keys().next().value as string);
  }

  #bumpNonce(nonce: string): void {
    if (nonce === '') return;
    const seen = this.#nonces.peek(nonce) ?? 0;
    this.#nonces.delete(nonce);
    this.#nonces.touch(nonce, () => seen + 1);
  }

  #isTrusted(user: string, address: string, now: number): boolean {
    const until = this.#trusted.peek(user)?.get(address);
    return until !== undefined && until > now;
  }

  #count(c: Counter, now: number, threshold: number, baseMs: number, maxMs: number): { seconds: number; failures: number } | undefined {
    // Strikes are forgotten once a source stayed quiet for the longest lock-out after its last one.
    if (c.strikes > 0 && now - c.lockedUntil > maxMs) c.strikes = 0;
    if (now - c.windowStart >= this.#windowMs) {
      c.windowStart = now;
      c.count = 0;
    }
    c.count++;
    if (c.count < threshold || c.lockedUntil > now) return undefined;
    const ms = Math.min(maxMs, baseMs * 2 ** Math.min(c.strikes, 30));
    c.strikes++;
    c.lockedUntil = now + ms;
    const failures = c.count;
    c.count = 0;
    c.windowStart = now;
    return { seconds: Math.round(ms / 1000), failures };
  }
}

function fresh(): Counter {
  return { count: 0, windowStart: 0, strikes: 0, lockedUntil: 0 };
}

const SPEC_KEYS: Record<string, keyof LockoutOptions> = {
  'source-failures': 'sourceFailures',
  window: 'window',
  'source-lockout': 'sourceLockout',
  'max-source-lockout': 'maxSourceLockout',
  'user-failures': 'userFailures',
  'user-lockout': 'userLockout',
  'max-user-lockout': 'maxUserLockout',
  'nonce-failures': 'nonceFailures',
  'trusted-for': 'trustedFor',
  allow: 'allow',
  'max-entries': 'maxEntries',
  'ipv6-prefix': 'ipv6Prefix',
};

/**
 * Lock-out options from configuration text: `off`/`false` → false (no lock-out), `on`/`true` →
 * the defaults, `source-failures=5,source-lockout=300,allow=10.0.0.0/8;192.0.2.7` (kebab-case
 * keys, `;` between allow entries), or a mapping with the same keys (YAML). Validated as the
 * authenticator would; throws {@link AuthOptionsError} with the offending key.
 */
export function parseLockoutOptions(input: string | boolean | Readonly<Record<string, unknown>>): LockoutOptions | false {
  if (input === false || input === 'off' || input === 'false') return false;
  if (input === true || input === 'on' || input === 'true') return {};
  const entries: Array<[string, unknown]> = [];
  if (typeof input === 'string') {
    for (const part of input.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new AuthOptionsError(`lockout "${part.trim()}": expected key=value (keys: ${Object.keys(SPEC_KEYS).join(', ')}), or off`);
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      entries.push([key, key === 'allow' ? value.split(';').map((a) => a.trim()).filter((a) => a !== '') : value]);
    }
  } else if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    entries.push(...Object.entries(input));
  } else {
    throw new AuthOptionsError('lockout must be off, on, key=value,… or a mapping');
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const name = SPEC_KEYS[key];
    if (name === undefined) throw new AuthOptionsError(`lockout: unknown key "${key}" (known: ${Object.keys(SPEC_KEYS).join(', ')})`);
    if (name === 'allow') {
      const list = Array.isArray(value) ? value : [value];
      options[name] = list.map(String);
    } else {
      const n = typeof value === 'number' ? value : /^\d+$/.test(String(value).trim()) ? Number(value) : Number.NaN;
      if (!Number.isInteger(n) || n < 1) throw new AuthOptionsError(`lockout: ${key} must be a positive integer (got ${String(value)})`);
      options[name] = n;
    }
  }
  // Checked now, at start-up, with the authenticator's own rules.
  new Lockout(options as LockoutOptions);
  return options as LockoutOptions;
}
