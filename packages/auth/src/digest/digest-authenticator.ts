import { channel } from 'node:diagnostics_channel';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Dispatcher, LegLogger, ReceiveInfo } from '@sipway/sip-leg';
import { createResponse, isRequest, sipUriEquals, statelessToTag, type SipMessage, type SipRequest } from '@sipway/sip-message';
import { AuthOptionsError } from '../errors.js';
import {
  authFailedChannel,
  authLockedChannel,
  formatAuthFailedLine,
  formatAuthLockedLine,
  type AuthFailedEvent,
  type AuthFailureReason,
  type AuthLockedEvent,
  type SecurityLog,
} from '../security-log.js';
import { HEX_LENGTH, algorithmOf, computeDigestResponse, computeHa1, type DigestAlgorithm, DIGEST_ALGORITHMS } from './algorithms.js';
import { formatChallenge, parseCredentials } from './header.js';
import { Lockout, type LockoutOptions, type LockStart } from './lockout.js';
import { MemoryNonceCountStore, type NonceCountStore } from './nonce-count-store.js';
import { NonceSigner, resolveNonceSecret, type NonceSecretSource } from './nonce.js';

/** What a user database knows about a user: the password, or HA1 per algorithm. */
export type DigestUser = string | { password: string } | { ha1: Partial<Record<DigestAlgorithm, string>> };

/** Looks a user up (a database, a file, LDAP). `undefined` = no such user. */
export type DigestUserLookup = (username: string, realm: string, request: SipRequest) => DigestUser | undefined | Promise<DigestUser | undefined>;

/** Optional logger in pino's `(fields, msg)` order (sip-leg's {@link LegLogger}): a pino logger is passed straight in. */
export type AuthLogger = LegLogger;

/** Options of {@link DigestAuthenticator}. */
export interface DigestAuthenticatorOptions {
  /** Sends the 401/407/403 answers. */
  dispatcher: Pick<Dispatcher, 'deliver'>;
  /** The protection space, usually the domain (RFC 3261 §22.1). */
  realm: string;
  /**
   * `registrar` (default): every challenge is a 401 with WWW-Authenticate. `proxy`: REGISTER still
   * gets 401, every other request 407 with Proxy-Authenticate and is read from Proxy-Authorization.
   */
  role?: 'registrar' | 'proxy' | undefined;
  /** Plain passwords: `{ alice: 'secret' }`. */
  users?: Readonly<Record<string, string>> | ReadonlyMap<string, string> | undefined;
  /** Precomputed HA1 = H(user:realm:password): a string is the MD5 HA1 (Net::SIP's user2a1). */
  ha1?: Readonly<Record<string, string | Partial<Record<DigestAlgorithm, string>>>> | undefined;
  /** Asked when `users` and `ha1` do not know the user. */
  lookup?: DigestUserLookup | undefined;
  /** Challenges offered, one header each, in this order (default `['SHA-256', 'MD5']`, RFC 8760 §2.4). */
  algorithms?: readonly DigestAlgorithm[] | undefined;
  /** Offer qop="auth" (default true). */
  qop?: boolean | undefined;
  /** Accept answers without qop (RFC 2069 clients; default true). Such a nonce is good for one request. */
  allowNoQop?: boolean | undefined;
  /** HMAC key of the nonces, the same on every node of a cluster. Default: env `SIPWAY_NONCE_SECRET`, else random (reported). At least 16 bytes. */
  nonceSecret?: string | Uint8Array | undefined;
  /** Seconds a nonce stays good (default 300); older ones get a new challenge with `stale=TRUE`. */
  nonceTtl?: number | undefined;
  /** Bind nonces to the client's IP address (default false: NATs and clusters move clients). */
  bindNonceToAddress?: boolean | undefined;
  /** Where used nonce counts are remembered (default an in-process LRU of 10 000 nonces). */
  nonceCounts?: NonceCountStore | undefined;
  /** Sent in every challenge and required back unchanged (RFC 2617 §3.2.1). */
  opaque?: string | undefined;
  /** Only these methods are authenticated (default: all; ACK and CANCEL never are). */
  methods?: readonly string[] | undefined;
  /** Return false to let a request pass without authentication (Net::SIP t/08: `noauth@` contacts). */
  filter?: ((request: SipRequest, info: ReceiveInfo) => boolean) | undefined;
  /** After the password is right: may this user make this request? false → 403. */
  authorize?: ((username: string, request: SipRequest, info: ReceiveInfo) => boolean | Promise<boolean>) | undefined;
  /** Require the digest `uri` to equal the Request-URI (default true; 400 when not, RFC 7616 §3.4.6). */
  checkUri?: boolean | undefined;
  /** Remove our own credentials from an authorized request before the chain goes on (default true, RFC 3261 §20.28). */
  removeCredentials?: boolean | undefined;
  /**
   * Brute-force lock-out (fail2ban style, see the README): failures counted per source address,
   * per user and per nonce; a locked source or user gets 403 without a password check. On by
   * default with the defaults of {@link LockoutOptions}; `false` turns it off.
   */
  lockout?: LockoutOptions | false | undefined;
  /** Receives one line per refused credential and per lock-out (format in the README, for fail2ban). */
  securityLog?: SecurityLog | undefined;
  logger?: AuthLogger | undefined;
  /** Milliseconds since the epoch (tests move it). */
  clock?: (() => number) | undefined;
}

/** Payload of `sipway:auth:challenged`. */
export interface ChallengedEvent {
  request: SipRequest;
  info: ReceiveInfo;
  status: 401 | 407;
  stale: boolean;
}
/** Payload of `sipway:auth:authorized`. */
export interface AuthorizedEvent {
  request: SipRequest;
  info: ReceiveInfo;
  username: string;
  algorithm: DigestAlgorithm;
}

/** `sipway:auth:challenged`: a 401/407 was sent. */
export const challengedChannel = channel('sipway:auth:challenged');
/** `sipway:auth:authorized`: a request passed. */
export const authorizedChannel = channel('sipway:auth:authorized');

const KNOWN_OPTIONS = new Set([
  'dispatcher', 'realm', 'role', 'users', 'ha1', 'lookup', 'algorithms', 'qop', 'allowNoQop', 'nonceSecret', 'nonceTtl',
  'bindNonceToAddress', 'nonceCounts', 'opaque', 'methods', 'filter', 'authorize', 'checkUri', 'removeCredentials',
  'lockout', 'securityLog', 'logger', 'clock',
]);

const authenticated = new WeakMap<SipRequest, string>();

/** The user a {@link DigestAuthenticator} authenticated this request as (for later chain members). */
export function authenticatedUser(request: SipRequest): string | undefined {
  return authenticated.get(request);
}

type Verdict =
  | { kind: 'ok'; username: string; algorithm: DigestAlgorithm }
  | { kind: 'fail'; reason: AuthFailureReason; username: string; status: 400 | 403 }
  | { kind: 'stale'; reason: 'stale' | 'replay' | 'bad-nonce'; username: string }
  | { kind: 'unavailable' }
  | { kind: 'locked'; username: string; scope: 'source' | 'user'; seconds: number }
  | { kind: 'retry'; failure?: { reason: AuthFailureReason; username: string } };

const NC = /^[0-9a-fA-F]{8}$/;

/**
 * SIP digest authentication as a receive-chain member (Net::SIP's Authorize, fixed): challenges
 * with SHA-256 and MD5 side by side, stateless HMAC nonces that expire, nonce counts that cannot be
 * replayed, 403 for a wrong password after a challenge. An authorized request goes on down the
 * chain (`receive` resolves false) without our credentials; anything else is answered and taken.
 *
 * @see RFC 3261 §22 (SIP authentication), §22.1 (ACK/CANCEL), §22.3 (proxy, 407), §20.28
 * @see RFC 2617 §3 (digest), RFC 7616 §3.4, RFC 8760 (SHA-256 in SIP)
 */
export class DigestAuthenticator {
  readonly #dispatcher: DigestAuthenticatorOptions['dispatcher'];
  readonly #realm: string;
  readonly #role: 'registrar' | 'proxy';
  readonly #passwords: ReadonlyMap<string, string>;
  readonly #ha1: ReadonlyMap<string, Partial<Record<DigestAlgorithm, string>>>;
  readonly #lookup: DigestUserLookup | undefined;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #qop: boolean;
  readonly #allowNoQop: boolean;
  readonly #signer: NonceSigner;
  readonly #bind: boolean;
  readonly #counts: NonceCountStore;
  readonly #opaque: string | undefined;
  readonly #methods: ReadonlySet<string> | undefined;
  readonly #filter: DigestAuthenticatorOptions['filter'];
  readonly #authorize: DigestAuthenticatorOptions['authorize'];
  readonly #checkUri: boolean;
  readonly #remove: boolean;
  readonly #lockout: Lockout | undefined;
  readonly #securityLog: SecurityLog | undefined;
  readonly #logger: AuthLogger | undefined;
  readonly #clock: () => number;
  /** Where the nonce secret came from: `random` means nonces do not survive a restart or cross nodes. */
  readonly nonceSecretSource: NonceSecretSource;

  constructor(options: DigestAuthenticatorOptions) {
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new AuthOptionsError(`DigestAuthenticator: unknown option "${key}"`);
    }
    if (typeof options.dispatcher?.deliver !== 'function') throw new AuthOptionsError('DigestAuthenticator: dispatcher is required');
    if (typeof options.realm !== 'string' || options.realm.length === 0 || /[\r\n]/.test(options.realm)) {
      throw new AuthOptionsError('DigestAuthenticator: realm must be a non-empty single-line string');
    }
    if (options.role !== undefined && options.role !== 'registrar' && options.role !== 'proxy') {
      throw new AuthOptionsError(`DigestAuthenticator: role must be "registrar" or "proxy", got ${String(options.role)}`);
    }
    if (options.users === undefined && options.ha1 === undefined && options.lookup === undefined) {
      throw new AuthOptionsError('DigestAuthenticator: give users, ha1 or lookup');
    }
    const algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
    if (algorithms.length === 0 || new Set(algorithms).size !== algorithms.length || algorithms.some((a) => !DIGEST_ALGORITHMS.includes(a))) {
      throw new AuthOptionsError(`DigestAuthenticator: algorithms must be distinct values of ${DIGEST_ALGORITHMS.join(', ')}`);
    }
    const ttl = options.nonceTtl ?? 300;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new AuthOptionsError('DigestAuthenticator: nonceTtl must be a positive number of seconds');
    if (options.opaque !== undefined && /[\r\n]/.test(options.opaque)) throw new AuthOptionsError('DigestAuthenticator: opaque must be one line');

    this.#dispatcher = options.dispatcher;
    this.#realm = options.realm;
    this.#role = options.role ?? 'registrar';
    this.#passwords = options.users instanceof Map ? new Map(options.users) : new Map(Object.entries(options.users ?? {}));
    const ha1 = new Map<string, Partial<Record<DigestAlgorithm, string>>>();
    for (const [user, v] of Object.entries(options.ha1 ?? {})) {
      const entry = typeof v === 'string' ? { MD5: v } : v;
      for (const [alg, hex] of Object.entries(entry)) {
        const a = alg as DigestAlgorithm;
        if (!DIGEST_ALGORITHMS.includes(a) || typeof hex !== 'string' || hex.length !== HEX_LENGTH[a] || !/^[0-9a-fA-F]+$/.test(hex)) {
          throw new AuthOptionsError(`DigestAuthenticator: ha1 of ${user} for ${alg} must be ${HEX_LENGTH[a] ?? '?'} hex digits`);
        }
      }
      ha1.set(user, Object.fromEntries(Object.entries(entry).map(([a, h]) => [a, (h as string).toLowerCase()])));
    }
    this.#ha1 = ha1;
    this.#lookup = options.lookup;
    this.#algorithms = [...algorithms];
    this.#qop = options.qop ?? true;
    this.#allowNoQop = options.allowNoQop ?? true;
    const { secret, source } = resolveNonceSecret(options.nonceSecret, process.env['SIPWAY_NONCE_SECRET']);
    if (secret.length < 16) throw new AuthOptionsError('DigestAuthenticator: the nonce secret must be at least 16 bytes');
    this.nonceSecretSource = source;
    this.#signer = new NonceSigner(secret, this.#realm, ttl * 1000);
    this.#bind = options.bindNonceToAddress ?? false;
    this.#counts = options.nonceCounts ?? new MemoryNonceCountStore();
    this.#opaque = options.opaque;
    this.#methods = options.methods === undefined ? undefined : new Set(options.methods);
    this.#filter = options.filter;
    this.#authorize = options.authorize;
    this.#checkUri = options.checkUri ?? true;
    this.#remove = options.removeCredentials ?? true;
    this.#lockout = options.lockout === false ? undefined : new Lockout(options.lockout ?? {});
    this.#securityLog = options.securityLog;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
    if (source === 'random') {
      this.#logger?.warn?.(
        {},
        'DigestAuthenticator: no nonceSecret and no SIPWAY_NONCE_SECRET; using a random per-process secret (nonces fail after a restart and on other cluster nodes)',
      );
    }
  }

  /** The realm challenged for. */
  get realm(): string {
    return this.#realm;
  }

  /**
   * Authenticates a request. Resolves false when the chain should go on (authorized, skipped, not
   * a request), true when the request was answered (401/407/403/400) or swallowed (our ACKs).
   */
  async receive(message: SipMessage, info: ReceiveInfo): Promise<boolean> {
    if (!isRequest(message)) return false;
    const method = message.method;
    // RFC 3261 §22.1: ACK and CANCEL cannot be resubmitted with credentials, so they are never
    // challenged. An ACK that acknowledges our own 401/407/403 (its To tag is ours) ends here.
    if (method === 'ACK') return message.to?.tag === this.#tag(message);
    if (method === 'CANCEL') return false;
    if (this.#methods !== undefined && !this.#methods.has(method)) return false;
    if (this.#filter !== undefined && !this.#filter(message, info)) return false;

    const proxy = this.#role === 'proxy' && method !== 'REGISTER';
    const header = proxy ? 'Proxy-Authorization' : 'Authorization';
    const values = message.getHeaders(header);
    const ours: number[] = [];
    let verdict: Verdict = { kind: 'retry' };
    for (let i = 0; i < values.length; i++) {
      const creds = parseCredentials(values[i] as string);
      if (creds === undefined || creds.scheme.toLowerCase() !== 'digest') continue;
      // Credentials for other realms belong to other hops (RFC 3261 §20.28): not ours to judge.
      if (creds.params.get('realm') !== this.#realm) continue;
      ours.push(i);
      const username = creds.params.get('username') ?? '';
      const nonce = creds.params.get('nonce') ?? '';
      const refused = this.#lockout?.refuse(info.source.address, this.#userKey(username), nonce, this.#clock());
      let v: Verdict;
      if (refused === undefined) v = await this.#verify(creds.params, message, info);
      // A nonce that took its wrong answers is not checked again: a fresh challenge, stale=TRUE
      // whatever the answer (so it tells nothing), which a real client follows at once.
      else if (refused.scope === 'nonce') v = { kind: 'stale', reason: 'bad-nonce', username };
      else v = { kind: 'locked', username, scope: refused.scope, seconds: refused.seconds };
      const failure = v.kind === 'fail' && v.status === 403 ? v : v.kind === 'retry' ? v.failure : undefined;
      if (failure !== undefined && this.#lockout !== undefined) {
        const now = this.#clock();
        for (const lock of this.#lockout.fail(info.source.address, this.#userKey(failure.username), nonce, now)) {
          this.#locked(message, info, failure.username, lock);
        }
      }
      if (v.kind === 'retry' && v.failure !== undefined) this.#failed(message, info, { ...v.failure, status: proxy ? 407 : 401 });
      if (rank(v) > rank(verdict)) verdict = v;
      // A locked attempt ends the request: no further credentials of it are checked.
      if (v.kind === 'ok' || v.kind === 'locked') break;
    }

    if (verdict.kind === 'ok') {
      if (this.#authorize !== undefined && !(await this.#authorize(verdict.username, message, info))) {
        this.#failed(message, info, { reason: 'forbidden', username: verdict.username, status: 403 });
        await this.#answer(message, info, 403);
        return true;
      }
      this.#lockout?.succeed(info.source.address, this.#userKey(verdict.username), this.#clock());
      if (this.#remove) for (const i of ours.reverse()) message.removeHeaderValue(header, i);
      authenticated.set(message, verdict.username);
      // Later chain members (the proxy's relay policy) see it on the ReceiveInfo too.
      info.authenticatedUser = verdict.username;
      if (authorizedChannel.hasSubscribers) {
        authorizedChannel.publish({ request: message, info, username: verdict.username, algorithm: verdict.algorithm } satisfies AuthorizedEvent);
      }
      return false;
    }
    if (verdict.kind === 'fail') {
      this.#failed(message, info, verdict);
      await this.#answer(message, info, verdict.status, verdict.status === 400 ? 'Bad Request (Digest credentials)' : undefined);
      return true;
    }
    if (verdict.kind === 'locked') {
      // Refused without looking at the password (no oracle while locked). 403, not 503: a 503
      // would send RFC 3263 clients to the next server of the cluster, whose counts are its own.
      this.#logger?.debug?.({ source: info.source.address, username: verdict.username, scope: verdict.scope, seconds: verdict.seconds }, 'DigestAuthenticator: locked out');
      await this.#answer(message, info, 403, 'Too Many Failed Attempts');
      return true;
    }
    if (verdict.kind === 'unavailable') {
      // The user database did not answer: try again later (RFC 3261 §21.5.4), never crash the chain.
      await this.#answer(message, info, 503, undefined, [['Retry-After', '5']]);
      return true;
    }
    if (verdict.kind === 'stale' && verdict.reason === 'replay') {
      this.#failed(message, info, { reason: 'replay', username: verdict.username, status: proxy ? 407 : 401 });
    }
    await this.#challenge(message, info, proxy, verdict.kind === 'stale');
    return true;
  }

  /** Judges one credentials value of our realm. */
  async #verify(p: Map<string, string>, request: SipRequest, info: ReceiveInfo): Promise<Verdict> {
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { kind: 'fail', reason: 'malformed', username: username ?? '', status: 400 };
    }
    const algorithm = algorithmOf(p.get('algorithm'));
    // An algorithm we did not offer (MD5-sess, AKA…): challenge again with what we support.
    if (algorithm === undefined || !this.#algorithms.includes(algorithm)) return { kind: 'retry' };
    if (response.length !== HEX_LENGTH[algorithm] || !/^[0-9a-fA-F]+$/.test(response)) {
      return { kind: 'fail', reason: 'malformed', username, status: 400 };
    }
    const qop = p.get('qop');
    let nc = 1;
    let qopInput: { qop: 'auth'; nc: string; cnonce: string } | undefined;
    if (qop !== undefined) {
      const ncText = p.get('nc');
      const cnonce = p.get('cnonce');
      if (qop !== 'auth' || !this.#qop) return { kind: 'retry' };
      if (ncText === undefined || !NC.test(ncText) || cnonce === undefined || cnonce.length === 0) {
        return { kind: 'fail', reason: 'malformed', username, status: 400 };
      }
      nc = Number.parseInt(ncText, 16);
      qopInput = { qop: 'auth', nc: ncText, cnonce };
    } else if (!this.#allowNoQop) return { kind: 'retry' };
    if (this.#checkUri && uri !== request.uri && !sipUriEquals(uri, request.uri)) {
      return { kind: 'fail', reason: 'uri-mismatch', username, status: 400 };
    }

    const now = this.#clock();
    const check = this.#signer.check(nonce, now, this.#bind ? info.source.address : undefined);
    // A nonce we did not issue (another secret, tampered, made up, or bound to another address) is
    // not checked at all: a fresh challenge with stale=TRUE whatever the answer, so it is no
    // password oracle, and nothing is counted, so a sender forging a victim's UDP address with a
    // nonce bound to its own cannot lock the victim out. After a restart with a random secret,
    // clients follow the stale challenge at once.
    if (!check.valid) return { kind: 'stale', reason: 'bad-nonce', username };
    const nonceOk = !check.expired && (this.#opaque === undefined || p.get('opaque') === this.#opaque);

    let ha1: string | undefined;
    try {
      ha1 = await this.#ha1For(username, algorithm, request);
    } catch (error) {
      this.#logger?.error?.({ error, username }, 'DigestAuthenticator: user lookup failed');
      return { kind: 'unavailable' };
    }
    const known = ha1 !== undefined;
    // An unknown user costs the same work as a known one, so timing does not tell them apart.
    const expected = computeDigestResponse({
      algorithm,
      ha1: ha1 ?? computeHa1(algorithm, username, this.#realm, randomBytes(16).toString('hex')),
      method: request.method,
      uri,
      nonce,
      qop: qopInput,
    });
    const match = timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(response.toLowerCase(), 'latin1')) && known;
    if (!match) {
      // RFC 7616 §3.3: stale only when the digest was right. A wrong answer to a nonce we issued
      // and that is still good means a wrong password: 403. Otherwise challenge afresh.
      // Either way it is a failure that counts: wrong guesses on an expired nonce would
      // otherwise be free, with stale=TRUE telling when the password was right.
      const reason = known ? 'bad-password' : 'unknown-user';
      if (nonceOk) return { kind: 'fail', reason, username, status: 403 };
      return { kind: 'retry', failure: { reason, username } };
    }
    if (this.#opaque !== undefined && p.get('opaque') !== this.#opaque) return { kind: 'stale', reason: 'bad-nonce', username };
    if (check.expired) return { kind: 'stale', reason: 'stale', username };
    // Only a correct digest may spend a nonce count, so garbage cannot burn a user's nonce.
    if (!(await this.#counts.use(nonce, nc, check.issuedAt))) return { kind: 'stale', reason: 'replay', username };
    return { kind: 'ok', username, algorithm };
  }

  async #ha1For(username: string, algorithm: DigestAlgorithm, request: SipRequest): Promise<string | undefined> {
    const password = this.#passwords.get(username);
    if (password !== undefined) return computeHa1(algorithm, username, this.#realm, password);
    const pre = this.#ha1.get(username);
    if (pre !== undefined) return pre[algorithm];
    if (this.#lookup === undefined) return undefined;
    const found = await this.#lookup(username, this.#realm, request);
    if (found === undefined) return undefined;
    if (typeof found === 'string') return computeHa1(algorithm, username, this.#realm, found);
    if ('password' in found) return computeHa1(algorithm, username, this.#realm, found.password);
    return found.ha1[algorithm]?.toLowerCase();
  }

  async #challenge(request: SipRequest, info: ReceiveInfo, proxy: boolean, stale: boolean): Promise<void> {
    const nonce = this.#signer.create(this.#clock(), this.#bind ? info.source.address : undefined);
    const name = proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    // RFC 8760 §2.4: one challenge per algorithm, the preferred one first.
    const headers = this.#algorithms.map(
      (algorithm) => [name, formatChallenge({ realm: this.#realm, nonce, algorithm, qop: this.#qop, stale, opaque: this.#opaque })] as const,
    );
    const status = proxy ? 407 : 401;
    await this.#answer(request, info, status, undefined, headers);
    if (challengedChannel.hasSubscribers) challengedChannel.publish({ request, info, status, stale } satisfies ChallengedEvent);
  }

  async #answer(request: SipRequest, info: ReceiveInfo, status: number, reason?: string, headers: ReadonlyArray<readonly [string, string]> = []): Promise<void> {
    const response = createResponse(request, status, reason, { toTag: this.#tag(request), headers });
    const sent = await this.#dispatcher.deliver(response, { incoming: info });
    if (!sent.ok) this.#logger?.debug?.({ status, reason: sent.reason }, 'DigestAuthenticator: answer not sent');
  }

  // The same request (and its ACK) always gets the same To tag without keeping state.
  #tag(request: SipRequest): string {
    return statelessToTag(request, 'da');
  }

  // Lock-outs count per user name and realm.
  #userKey(username: string): string {
    return `${username}\0${this.#realm}`;
  }

  #locked(request: SipRequest, info: ReceiveInfo, username: string, lock: LockStart): void {
    if (this.#securityLog === undefined && !authLockedChannel.hasSubscribers) return;
    const base = { source: info.source.address, port: info.source.port, scope: lock.scope, seconds: lock.seconds, failures: lock.failures, method: request.method, user: username };
    const line = formatAuthLockedLine(base);
    const event: AuthLockedEvent = { kind: 'auth-locked', ...base, transport: info.source.transport, realm: this.#realm, line };
    this.#securityLog?.(line, event);
    if (authLockedChannel.hasSubscribers) authLockedChannel.publish(event);
  }

  #failed(request: SipRequest, info: ReceiveInfo, f: { reason: AuthFailureReason; username: string; status: number }): void {
    if (this.#securityLog === undefined && !authFailedChannel.hasSubscribers) return;
    const base = { source: info.source.address, port: info.source.port, reason: f.reason, method: request.method, user: f.username };
    const line = formatAuthFailedLine(base);
    const event: AuthFailedEvent = { kind: 'auth-failed', ...base, transport: info.source.transport, realm: this.#realm, status: f.status, line };
    this.#securityLog?.(line, event);
    if (authFailedChannel.hasSubscribers) authFailedChannel.publish(event);
  }
}

// When several credentials of our realm disagree, the most telling verdict wins.
function rank(v: Verdict): number {
  switch (v.kind) {
    case 'ok':
      return 5;
    case 'locked':
      return 4;
    case 'fail':
      return v.status === 403 ? 3 : 2;
    case 'unavailable':
      return 2;
    case 'stale':
      return 1;
    default:
      return 0;
  }
}
