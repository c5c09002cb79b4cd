import type { Dispatcher, ReceiveInfo } from '@sipway/sip-leg';
import { createResponse, isRequest, statelessToTag, type SipMessage, type SipRequest } from '@sipway/sip-message';
import { RateLimiterMemory, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { AuthLogger } from '../digest/digest-authenticator.js';
import { AuthOptionsError } from '../errors.js';
import { blockedChannel, formatBlockedLine, type BlockReason, type BlockedEvent, type SecurityLog } from '../security-log.js';
import { AddressList } from './address-list.js';
import { sourceKey } from '@sipway/sip-leg';

/** What the member needs of a rate-limiter-flexible limiter: `RateLimiterMemory`, `RateLimiterRedis`, … */
export type PointsLimiter = Pick<RateLimiterAbstract, 'consume'>;

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Sends the 503 answers. */
  dispatcher: Pick<Dispatcher, 'deliver'>;
  /**
   * The limiter, keyed by source IP address. Default: `new RateLimiterMemory({ points, duration,
   * keyPrefix: 'sipway' })`. Pass a `RateLimiterRedis` to share the counts across nodes.
   */
  limiter?: PointsLimiter | undefined;
  /** Requests allowed per source address and `duration` (default 50; ignored with `limiter`). */
  points?: number | undefined;
  /** Window in seconds (default 1; ignored with `limiter`). */
  duration?: number | undefined;
  /** Never limited: exact addresses or CIDR ranges (`['10.0.0.0/8', '::1']`). */
  allow?: readonly string[] | undefined;
  /**
   * Second threshold: once a source has used more than this many points in the window, its
   * requests are dropped without an answer (no 503 to amplify a flood). Default: never.
   */
  dropAbove?: number | undefined;
  /** Only these methods count and are limited (default all requests). Responses are never limited. */
  methods?: readonly string[] | undefined;
  /** IPv6 sources share one limit per prefix of this many bits (one end site has a /64). Default 64; 128 = per address. */
  ipv6Prefix?: number | undefined;
  /** Receives one line per block (format in the README, for fail2ban). */
  securityLog?: SecurityLog | undefined;
  logger?: AuthLogger | undefined;
}

const KNOWN_OPTIONS = new Set(['dispatcher', 'limiter', 'points', 'duration', 'allow', 'dropAbove', 'methods', 'ipv6Prefix', 'securityLog', 'logger']);

function isLimiterRes(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'msBeforeNext' in value;
}

/**
 * Admission control per source address as a receive-chain member: requests over the limit get
 * `503 Service Unavailable` with Retry-After (RFC 3261 §21.5.4) and are taken; above `dropAbove`
 * they are dropped silently; ACKs over the limit are always dropped (never answered, RFC 3261
 * §17.1.1.3). Each block writes one stable line for fail2ban. When the limiter's store fails (Redis
 * down) the request is let through and a warning logged: admission control never stops service.
 *
 * @see RFC 3261 §21.5.4 (503), §20.33 (Retry-After)
 */
export class RateLimiter {
  readonly #dispatcher: RateLimiterOptions['dispatcher'];
  readonly #limiter: PointsLimiter;
  readonly #allow: AddressList;
  readonly #dropAbove: number | undefined;
  readonly #methods: ReadonlySet<string> | undefined;
  readonly #ipv6Prefix: number;
  readonly #securityLog: SecurityLog | undefined;
  readonly #logger: AuthLogger | undefined;
  // Sources whose flood was already logged, until when (ms): one line per window, not per packet.
  readonly #floodLogged = new Map<string, number>();

  constructor(options: RateLimiterOptions) {
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new AuthOptionsError(`RateLimiter: unknown option "${key}"`);
    }
    if (typeof options.dispatcher?.deliver !== 'function') throw new AuthOptionsError('RateLimiter: dispatcher is required');
    const points = options.points ?? 50;
    const duration = options.duration ?? 1;
    if (!Number.isInteger(points) || points < 1) throw new AuthOptionsError('RateLimiter: points must be a positive integer');
    if (!Number.isFinite(duration) || duration <= 0) throw new AuthOptionsError('RateLimiter: duration must be a positive number of seconds');
    if (options.dropAbove !== undefined && (!Number.isInteger(options.dropAbove) || options.dropAbove < 1)) {
      throw new AuthOptionsError('RateLimiter: dropAbove must be a positive integer');
    }
    if (options.limiter !== undefined && typeof options.limiter.consume !== 'function') {
      throw new AuthOptionsError('RateLimiter: limiter must be a rate-limiter-flexible limiter (with consume())');
    }
    this.#dispatcher = options.dispatcher;
    this.#limiter = options.limiter ?? new RateLimiterMemory({ points, duration, keyPrefix: 'sipway' });
    this.#allow = new AddressList(options.allow ?? []);
    this.#dropAbove = options.dropAbove;
    this.#methods = options.methods === undefined ? undefined : new Set(options.methods);
    const prefix = options.ipv6Prefix ?? 64;
    if (!Number.isInteger(prefix) || prefix < 1 || prefix > 128) throw new AuthOptionsError('RateLimiter: ipv6Prefix must be an integer 1..128');
    this.#ipv6Prefix = prefix;
    this.#securityLog = options.securityLog;
    this.#logger = options.logger;
  }

  /** Resolves false when the request may go on, true when it was answered with 503 or dropped. */
  async receive(message: SipMessage, info: ReceiveInfo): Promise<boolean> {
    if (!isRequest(message)) return false;
    if (this.#methods !== undefined && !this.#methods.has(message.method)) return false;
    const source = info.source.address;
    if (this.#allow.has(source)) return false;
    try {
      await this.#limiter.consume(sourceKey(source, this.#ipv6Prefix), 1);
      return false;
    } catch (rejection) {
      if (!isLimiterRes(rejection)) {
        this.#logger?.warn?.({ error: rejection, source }, 'RateLimiter: limiter store failed; request let through');
        return false;
      }
      await this.#block(message, info, rejection);
      return true;
    }
  }

  async #block(request: SipRequest, info: ReceiveInfo, res: RateLimiterRes): Promise<void> {
    const source = info.source.address;
    const flood = this.#dropAbove !== undefined && res.consumedPoints > this.#dropAbove;
    if (request.method === 'ACK' || flood) {
      if (flood) this.#emit(request, info, 'flood', 'drop', this.#firstInWindow(`f|${source}`, res));
      return;
    }
    // One line per source per window, as for a flood: a client over its limit chooses how many
    // requests it sends, and so would choose how many log lines we write (fail2ban needs one).
    this.#emit(request, info, 'rate-limit', 503, this.#firstInWindow(`r|${source}`, res));
    const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    const response = createResponse(request, 503, undefined, { toTag: statelessToTag(request, 'rl'), headers: [['Retry-After', String(retryAfter)]] });
    const sent = await this.#dispatcher.deliver(response, { incoming: info });
    if (!sent.ok) this.#logger?.debug?.({ reason: sent.reason }, 'RateLimiter: 503 not sent');
  }

  /** True for the first block of this key in the limiter's current window (then remembered). */
  #firstInWindow(key: string, res: RateLimiterRes): boolean {
    const now = Date.now();
    const until = this.#floodLogged.get(key);
    if (until !== undefined && until > now) return false;
    if (this.#floodLogged.size >= 10_000) this.#floodLogged.clear();
    this.#floodLogged.set(key, now + Math.max(1000, res.msBeforeNext));
    return true;
  }

  /** Every block is published on the channel (metrics count them all); `log` says whether it is also a log line. */
  #emit(request: SipRequest, info: ReceiveInfo, reason: BlockReason, action: 503 | 'drop', log: boolean): void {
    const logged = log && this.#securityLog !== undefined;
    if (!logged && !blockedChannel.hasSubscribers) return;
    const base = { source: info.source.address, port: info.source.port, reason, method: request.method };
    const line = formatBlockedLine(base);
    const event: BlockedEvent = { kind: 'blocked', ...base, transport: info.source.transport, action, line };
    if (logged) this.#securityLog?.(line, event);
    if (blockedChannel.hasSubscribers) blockedChannel.publish(event);
  }
}

