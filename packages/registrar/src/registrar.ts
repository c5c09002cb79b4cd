import { createResponse, formatNameAddr, isSipUri, sipUriEquals, statelessToTag } from '@sipway/sip-message';
import type { SipMessage, SipRequest } from '@sipway/sip-message';
import { isConnectionTransport, legPlace, reachableOnlyByFlow } from '@sipway/sip-leg';
import type { Dispatcher, LegConnection, LegLogger, ReceiveInfo, Receiver } from '@sipway/sip-leg';
import { toAor } from './aor.js';
import { liveBindings } from './binding.js';
import type { Binding, BindingSource, LocationRecord } from './binding.js';
import { type RegisterEvent, registerChannel } from './diagnostics.js';
import { createDomainMatcher } from './domains.js';
import type { DomainMatcher } from './domains.js';
import { RegistrarClosedError, RegistrarOptionsError } from './errors.js';
import { LimitLog, SourceIndex, addressList, sourceKey, type RegisterLimit } from './limits.js';
import { MemoryLocationStore } from './memory-store.js';
import { applyRegister, readRegister } from './register.js';
import type { RegisterIntent, RegisterPolicy, RegisterReply } from './register.js';
import type { LocationStore } from './store.js';

/** Optional logger in pino's `(fields, msg)` order (sip-leg's {@link LegLogger}): a pino logger is passed straight in. */
export type RegistrarLogger = LegLogger;

/** Options of {@link Registrar}. */
export interface RegistrarOptions {
  /**
   * Sends the responses (back the way the REGISTER came, RFC 3261 §18.2.2). A `Dispatcher` also
   * tells when connections close, for `dropClosedFlows`.
   */
  dispatcher: Pick<Dispatcher, 'deliver'> & Partial<Pick<Dispatcher, 'onConnectionClose'>>;
  /**
   * Served domains: `example.com` (exact), `*.example.com` (subdomains, dot boundary), `*` (any).
   * Required: a registrar for every domain must be asked for with `['*']`.
   */
  domains: readonly string[];
  /** Where bindings live. Default: a new {@link MemoryLocationStore} (closed with the registrar). */
  store?: LocationStore | undefined;
  /** Seconds; a shorter non-zero expiry is refused with 423 and Min-Expires. Default 30 (Net::SIP). */
  minExpires?: number | undefined;
  /** Seconds; a longer expiry is shortened to this. Default 300 (Net::SIP). */
  maxExpires?: number | undefined;
  /** Seconds, when neither the contact nor the request gives one. Default: `maxExpires` (Net::SIP). */
  defaultExpires?: number | undefined;
  /** Most bindings per AOR; a REGISTER adding beyond it gets 403 (Too Many Bindings). Default 10. */
  maxBindings?: number | undefined;
  /**
   * Most AORs one source address may hold bindings in (counted in this process); a REGISTER
   * for one more gets 403 (Too Many Registrations). 0 = no cap. Default 100.
   */
  maxAorsPerSource?: number | undefined;
  /** Sources exempt from `maxAorsPerSource` (an SBC or proxy in front): addresses and CIDR ranges. */
  trustedSources?: readonly string[] | undefined;
  /** IPv6 sources count as one per prefix of this many bits for `maxAorsPerSource` (one end site has a /64). Default 64; 128 = per address. */
  ipv6SourcePrefix?: number | undefined;
  /**
   * Most AORs in the store (`store.count()`, else those this process saved); a REGISTER for a new
   * AOR beyond it gets 503 with `Retry-After: fullRetryAfter`. 0 = no cap. Default 100000.
   */
  maxAors?: number | undefined;
  /** Seconds in Retry-After when `maxAors` is reached. Default 60. */
  fullRetryAfter?: number | undefined;
  /**
   * Seconds an AOR stays "known" (see {@link Registrar.knows}) after its last binding lapsed or
   * was removed. Default 3600; 0 forgets at once.
   */
  rememberFor?: number | undefined;
  /** Milliseconds between sweeps that drop lapsed bindings from the store; 0 = never (lookups still skip them). Default 10000. */
  sweepInterval?: number | undefined;
  /** Seconds in Retry-After when the store fails and the REGISTER gets 503. Default 5. */
  retryAfter?: number | undefined;
  /** Option tags accepted in Require (RFC 3261 §8.2.2.3). Default none. */
  supported?: readonly string[] | undefined;
  /**
   * When the connection a binding can only be reached over closes (a WebSocket client, a
   * `.invalid` host, an RFC 5626 outbound `ob`/`reg-id` contact), remove that binding at once
   * instead of keeping it until it expires (RFC 5626 §5.2). Needs a dispatcher with
   * `onConnectionClose`. Default true.
   */
  dropClosedFlows?: boolean | undefined;
  /**
   * Seconds sent in `Flow-Timer` (RFC 5626 §4.4.1, §6) in the 200 to an outbound REGISTER
   * (`reg-id` and `+sip.instance`): how often the client should send its CRLF keep-alive.
   * Default: not sent (clients then use 95–120 s on TCP, which the legs' idle close allows).
   */
  flowTimer?: number | undefined;
  /** Clock in epoch milliseconds (tests inject one). Default `Date.now`. */
  clock?: (() => number) | undefined;
  logger?: RegistrarLogger | undefined;
}

const SAVE_ATTEMPTS = 8;

function positiveInteger(name: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 2 ** 32 - 1) {
    throw new RegistrarOptionsError(`${name} must be an integer ${allowZero ? '>= 0' : '> 0'} (got ${String(value)})`);
  }
  return value;
}

/**
 * A SIP registrar and the location service behind it.
 *
 * As a {@link Receiver} it takes REGISTER requests whose Request-URI names a served domain and
 * answers them; everything else — other methods, responses, and REGISTERs for foreign domains,
 * which a proxy behind it forwards (RFC 3261 §10.3 step 1) — resolves to `false` so a receive
 * chain hands it on. As a location service it gives a proxy the bindings of an AOR.
 *
 * @see RFC 3261 §10.3 (processing REGISTER), §10.2 (bindings), §16.5 (location service)
 */
export class Registrar implements Receiver {
  /** The store the bindings live in. */
  readonly store: LocationStore;
  readonly #dispatcher: RegistrarOptions['dispatcher'];
  readonly #serves: DomainMatcher;
  readonly #policy: RegisterPolicy;
  readonly #rememberMs: number;
  readonly #maxAorsPerSource: number;
  readonly #maxAors: number;
  readonly #fullRetryAfter: number;
  readonly #trusted: (address: string) => boolean;
  readonly #sources: SourceIndex;
  readonly #limitLog: LimitLog;
  /** New AORs between the count check and the end of their save (concurrent REGISTERs). */
  #pendingNew = 0;
  /** AORs this process created, for stores without count(). */
  readonly #created = new Set<string>();
  readonly #retryAfter: number;
  readonly #clock: () => number;
  readonly #logger: RegistrarLogger | undefined;
  readonly #ownsStore: boolean;
  readonly #timer: NodeJS.Timeout | undefined;
  /** The tail of each AOR's queue: REGISTERs for one AOR run one at a time in this process. */
  readonly #queues = new Map<string, Promise<void>>();
  /** AORs with a binding reachable only over a flow, by flow (`transport|address|port`), for RFC 5626 §5.2. */
  readonly #flowAors = new Map<string, Set<string>>();
  readonly #unsubscribe: (() => void) | undefined;
  readonly #flowTimer: number | undefined;
  #sweeping = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RegistrarOptions) {
    if (options === undefined || options.dispatcher === undefined) throw new RegistrarOptionsError('dispatcher is required');
    if (!Array.isArray(options.domains)) throw new RegistrarOptionsError('domains is required (use ["*"] for any domain)');
    this.#serves = createDomainMatcher(options.domains);
    const minExpires = positiveInteger('minExpires', options.minExpires ?? 30);
    const maxExpires = positiveInteger('maxExpires', options.maxExpires ?? 300);
    if (minExpires > maxExpires) throw new RegistrarOptionsError(`minExpires (${minExpires}) is above maxExpires (${maxExpires})`);
    const defaultExpires = positiveInteger('defaultExpires', options.defaultExpires ?? maxExpires);
    if (defaultExpires < minExpires || defaultExpires > maxExpires) {
      throw new RegistrarOptionsError(`defaultExpires (${defaultExpires}) must lie between minExpires and maxExpires`);
    }
    this.#policy = {
      minExpires,
      maxExpires,
      defaultExpires,
      maxBindings: positiveInteger('maxBindings', options.maxBindings ?? 10),
      supported: new Set((options.supported ?? []).map((t) => t.toLowerCase())),
    };
    this.#rememberMs = positiveInteger('rememberFor', options.rememberFor ?? 3600, true) * 1000;
    this.#retryAfter = positiveInteger('retryAfter', options.retryAfter ?? 5, true);
    this.#maxAorsPerSource = positiveInteger('maxAorsPerSource', options.maxAorsPerSource ?? 100, true);
    this.#maxAors = positiveInteger('maxAors', options.maxAors ?? 100_000, true);
    this.#fullRetryAfter = positiveInteger('fullRetryAfter', options.fullRetryAfter ?? 60, true);
    if (options.trustedSources !== undefined && !Array.isArray(options.trustedSources)) throw new RegistrarOptionsError('trustedSources must be a list of addresses or CIDR ranges');
    this.#trusted = addressList(options.trustedSources ?? [], 'trustedSources');
    const prefix = options.ipv6SourcePrefix ?? 64;
    if (!Number.isInteger(prefix) || prefix < 1 || prefix > 128) throw new RegistrarOptionsError(`ipv6SourcePrefix must be an integer 1..128 (got ${String(prefix)})`);
    this.#sources = new SourceIndex(prefix);
    const sweep = positiveInteger('sweepInterval', options.sweepInterval ?? 10_000, true);
    this.#dispatcher = options.dispatcher;
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
    this.#limitLog = new LimitLog((line, data) => this.#logger?.warn?.(data, line));
    this.#ownsStore = options.store === undefined;
    this.store = options.store ?? new MemoryLocationStore();
    if (options.flowTimer !== undefined) positiveInteger('flowTimer', options.flowTimer);
    this.#flowTimer = options.flowTimer;
    if ((options.dropClosedFlows ?? true) && typeof options.dispatcher.onConnectionClose === 'function') {
      this.#unsubscribe = options.dispatcher.onConnectionClose((connection) => this.#flowClosed(connection));
    }
    if (sweep > 0) {
      this.#timer = setInterval(() => void this.#sweep(), sweep);
      // The sweep alone must not keep a process alive.
      this.#timer.unref();
    }
  }

  /** True when `host` is one of the served domains. */
  serves(host: string): boolean {
    return this.#serves(host);
  }

  /**
   * Takes a REGISTER for a served domain: answers it and resolves to true once the response
   * was handed to the dispatcher. Anything else returns false at once (not mine).
   */
  receive(message: SipMessage, info: ReceiveInfo): false | Promise<true> {
    if (this.#closed || !message.isRequest || message.method !== 'REGISTER') return false;
    let uri;
    try {
      uri = message.requestUri;
    } catch {
      return false;
    }
    // Step 1: a REGISTER for a domain we do not serve is not ours; a proxy behind us forwards it.
    if (!isSipUri(uri) || !this.#serves(uri.host)) return false;
    return this.#handle(message, info).then(() => true as const);
  }

  /**
   * The live bindings of an AOR, best first (highest q, absent q = 1.0, then most recently
   * updated). Accepts any SIP URI — a Request-URI with port and parameters is reduced to its
   * AOR first (see {@link toAor}). Rejects when the store fails.
   */
  async lookup(aorOrUri: string): Promise<Binding[]> {
    this.#checkOpen();
    const aor = toAor(aorOrUri);
    if (aor === undefined) return [];
    const record = await this.store.lookup(aor);
    return record === undefined ? [] : liveBindings(record.bindings, this.#clock());
  }

  /**
   * True when the AOR holds a live binding, or had one within `rememberFor`: a proxy answers
   * 480 (Temporarily Unavailable) rather than 404 for it (RFC 3261 §21.4.18, §21.4.5).
   */
  async knows(aorOrUri: string): Promise<boolean> {
    this.#checkOpen();
    const aor = toAor(aorOrUri);
    if (aor === undefined) return false;
    const record = await this.store.lookup(aor);
    if (record === undefined) return false;
    const now = this.#clock();
    return record.expiresAt > now || record.bindings.some((b) => b.expires > now);
  }

  /** Every known AOR with its live bindings (best first): a dump for operators. */
  async list(): Promise<LocationRecord[]> {
    this.#checkOpen();
    const now = this.#clock();
    const out: LocationRecord[] = [];
    for (const record of await this.store.list()) {
      const bindings = liveBindings(record.bindings, now);
      if (bindings.length > 0 || record.expiresAt > now) out.push({ ...record, bindings });
    }
    return out;
  }

  /**
   * Removes one binding (its contact compared by RFC 3261 §19.1.4) or every binding and the
   * record of the AOR. Resolves to the number of bindings removed. For operators; clients use REGISTER.
   */
  async unregister(aorOrUri: string, contact?: string): Promise<number> {
    this.#checkOpen();
    const aor = toAor(aorOrUri);
    if (aor === undefined) return 0;
    if (contact === undefined) return this.store.remove(aor);
    const record = await this.store.lookup(aor);
    const match = record?.bindings.find((b) => b.contact === contact || sipUriEquals(b.contact, contact));
    return match === undefined ? 0 : this.store.remove(aor, match.contact);
  }

  /** Drops lapsed bindings and forgotten AORs from the store now; resolves to the number of bindings dropped. */
  expire(): Promise<number> {
    this.#checkOpen();
    return this.store.expire(this.#clock());
  }

  /** Stops the sweep and closes the store if the registrar created it. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#unsubscribe?.();
    this.#flowAors.clear();
    this.#sources.clear();
    this.#created.clear();
    this.#closing ??= this.#ownsStore ? this.store.close() : Promise.resolve();
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closed) throw new RegistrarClosedError('registrar');
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      const now = this.#clock();
      const dropped = await this.store.expire(now);
      this.#sources.prune(now);
      if (this.#created.size > 0) for (const aor of this.#created) if ((await this.store.lookup(aor)) === undefined) this.#created.delete(aor);
      if (dropped > 0) this.#logger?.debug?.({ dropped }, 'expired bindings');
    } catch (error) {
      this.#logger?.warn?.({ error: String(error) }, 'location store sweep failed');
    } finally {
      this.#sweeping = false;
    }
  }

  async #handle(request: SipRequest, info: ReceiveInfo): Promise<void> {
    const intent = readRegister(request, this.#policy, this.#serves);
    if (intent.kind === 'reply') return this.#answer(request, info, intent);
    // One at a time per AOR here (no wasted conflicts); the store's version check covers other processes.
    const previous = this.#queues.get(intent.aor) ?? Promise.resolve();
    const run = previous.then(() => this.#update(request, info, intent));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(intent.aor, tail);
    try {
      await run;
    } finally {
      if (this.#queues.get(intent.aor) === tail) this.#queues.delete(intent.aor);
    }
  }

  async #update(request: SipRequest, info: ReceiveInfo, intent: Exclude<RegisterIntent, RegisterReply>): Promise<void> {
    const source: BindingSource = { transport: info.source.transport, address: info.source.address, port: info.source.port, local: legPlace(info.leg) };
    const outcome = await this.#decide(intent, source);
    if (outcome.kind === 'reply') {
      if (outcome.limit !== undefined) this.#limitLog.refused(outcome.limit, this.#sources.key(source.address), sourceKey(source.address, 128), intent.aor, this.#clock());
      return this.#answer(request, info, outcome, intent.aor);
    }
    if (intent.kind !== 'query') this.#trackFlow(intent.aor, outcome.bindings, source, info.connection);
    return this.#ok(request, info, intent.aor, outcome.bindings, outcome.now, this.#outboundHeaders(request, intent));
  }

  /**
   * The connection a REGISTER came on stays open while a binding registered over it lives
   * (RFC 5626 §4.4, §5.2: the idle close of the leg must not cut a registered client), and is
   * remembered when a binding can only be reached over it, to drop that binding when it closes.
   */
  #trackFlow(aor: string, bindings: readonly Binding[], source: BindingSource, connection: LegConnection | undefined): void {
    if (connection === undefined || !isConnectionTransport(source.transport)) return;
    const key = flowKey(source);
    let until = 0;
    let flowOnly = false;
    for (const b of bindings) {
      if (b.source === undefined || flowKey(b.source) !== key) continue;
      until = Math.max(until, b.expires);
      flowOnly ||= reachableOnlyByFlow(b.contact, b.source.transport, b.params);
    }
    connection.keepOpenUntil?.(until);
    if (!flowOnly || connection.closed) return;
    let aors = this.#flowAors.get(key);
    if (aors === undefined) this.#flowAors.set(key, (aors = new Set()));
    aors.add(aor);
  }

  /** RFC 5626 §6: an outbound registration is answered with `Require: outbound` (and Flow-Timer when configured). */
  #outboundHeaders(request: SipRequest, intent: Exclude<RegisterIntent, RegisterReply>): Array<[string, string]> {
    if (intent.kind !== 'update' || !intent.updates.some((u) => u.params?.['reg-id'] !== undefined && u.params['+sip.instance'] !== undefined)) return [];
    const supported = request.getHeaders('supported').some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'outbound'));
    if (!supported) return [];
    const headers: Array<[string, string]> = [['Require', 'outbound']];
    if (this.#flowTimer !== undefined) headers.push(['Flow-Timer', String(this.#flowTimer)]);
    return headers;
  }

  /** RFC 5626 §5.2: the flow closed, so the bindings reachable only over it go now. */
  #flowClosed(connection: LegConnection): void {
    if (this.#closed) return;
    const key = flowKey(connection.remote);
    const aors = this.#flowAors.get(key);
    if (aors === undefined) return;
    this.#flowAors.delete(key);
    for (const aor of aors) {
      const previous = this.#queues.get(aor) ?? Promise.resolve();
      const run = previous.then(() => this.#dropFlow(aor, key));
      const tail = run.then(
        () => undefined,
        () => undefined,
      );
      this.#queues.set(aor, tail);
      void tail.then(() => {
        if (this.#queues.get(aor) === tail) this.#queues.delete(aor);
      });
    }
  }

  async #dropFlow(aor: string, key: string): Promise<void> {
    if (this.#closed) return;
    try {
      for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
        const record = await this.store.lookup(aor);
        if (record === undefined) return;
        const kept = record.bindings.filter(
          (b) => b.source === undefined || flowKey(b.source) !== key || !reachableOnlyByFlow(b.contact, b.source.transport, b.params),
        );
        if (kept.length === record.bindings.length) return;
        const saved = await this.store.save(aor, kept, { expectedVersion: record.version, expiresAt: record.expiresAt });
        if (saved.ok) {
          this.#logger?.debug?.({ aor, flow: key, removed: record.bindings.length - kept.length }, 'flow closed: bindings removed');
          return;
        }
      }
    } catch (error) {
      this.#logger?.warn?.({ aor, flow: key, error: String(error) }, 'could not remove the bindings of a closed flow');
    }
  }

  /** Reads, merges and saves (retrying on conflicts); store failures become a 503 here, sending stays outside. */
  async #decide(
    intent: Exclude<RegisterIntent, RegisterReply>,
    source: BindingSource,
  ): Promise<{ kind: 'ok'; bindings: Binding[]; now: number } | (RegisterReply & { limit?: RegisterLimit })> {
    const key = this.#sources.key(source.address);
    try {
      for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
        const now = this.#clock();
        const record = await this.store.lookup(intent.aor);
        const current = record === undefined ? [] : liveBindings(record.bindings, now);
        if (intent.kind === 'query') return { kind: 'ok', bindings: current, now };
        const outcome = applyRegister(intent, current, { now, policy: this.#policy, source });
        if (outcome.kind === 'reply') return outcome.status === 403 ? { ...outcome, limit: 'bindings-per-aor' } : outcome;
        // Removing what does not exist must not make an unknown AOR known.
        if (record === undefined && outcome.bindings.length === 0) return { kind: 'ok', bindings: [], now };
        const fresh = record === undefined;
        const refused = await this.#admit(intent.aor, key, source.address, fresh, current, outcome.bindings, now);
        if (refused !== undefined) return refused;
        let expiresAt = now + this.#rememberMs;
        for (const b of outcome.bindings) expiresAt = Math.max(expiresAt, b.expires + this.#rememberMs);
        if (record !== undefined && this.#rememberMs > 0) expiresAt = Math.max(expiresAt, record.expiresAt);
        let saved;
        try {
          saved = await this.store.save(intent.aor, outcome.bindings, { expectedVersion: record?.version ?? 0, expiresAt });
        } catch (error) {
          this.#sources.update(intent.aor, outcome.bindings, current);
          throw error;
        } finally {
          if (fresh) this.#pendingNew--;
        }
        if (saved.ok) {
          if (fresh && this.store.count === undefined) this.#created.add(intent.aor);
          return { kind: 'ok', bindings: liveBindings(outcome.bindings, now), now };
        }
        this.#sources.update(intent.aor, outcome.bindings, current);
        this.#logger?.debug?.({ aor: intent.aor, attempt }, 'concurrent update of an AOR, retrying');
      }
      this.#logger?.warn?.({ aor: intent.aor }, 'could not save bindings: too many concurrent updates');
    } catch (error) {
      this.#logger?.error?.({ aor: intent.aor, error: String(error) }, 'location store failed');
    }
    // RFC 3261 §21.5.4: temporarily unable to process the request; try again later.
    return { kind: 'reply', status: 503, reason: 'Service Unavailable', headers: [['Retry-After', String(this.#retryAfter)]] };
  }

  /**
   * The caps on what one REGISTER may create: AORs per source (403; per process) and AORs in
   * total (503 with Retry-After: the registrar is full for now, RFC 3261 §21.5.4). Refreshing or
   * removing what a source already holds is never refused.
   */
  async #admit(
    aor: string,
    source: string,
    address: string,
    fresh: boolean,
    before: readonly Binding[],
    after: readonly Binding[],
    now: number,
  ): Promise<(RegisterReply & { limit: RegisterLimit }) | undefined> {
    const stored = this.#maxAors > 0 && fresh ? (this.store.count === undefined ? this.#created.size : await this.store.count()) : 0;
    // From here on synchronous: the checks and the reservation cannot interleave with another REGISTER.
    if (this.#maxAors > 0 && fresh && stored + this.#pendingNew >= this.#maxAors) {
      return { kind: 'reply', status: 503, reason: 'Service Unavailable', headers: [['Retry-After', String(this.#fullRetryAfter)]], limit: 'aors' };
    }
    const adds = after.some((b) => b.source !== undefined && this.#sources.key(b.source.address) === source);
    if (this.#maxAorsPerSource > 0 && adds && !this.#trusted(address) && !this.#sources.holds(source, aor, now)) {
      if (this.#sources.count(source, now) >= this.#maxAorsPerSource) {
        return { kind: 'reply', status: 403, reason: 'Too Many Registrations', limit: 'aors-per-source' };
      }
    }
    // Reserved before the save resolves, so concurrent REGISTERs see each other; undone on conflict.
    this.#sources.update(aor, before, after);
    if (fresh) this.#pendingNew++;
    return undefined;
  }

  /** The 200 of RFC 3261 §10.3 step 8: every current binding with its remaining expiry, and a Date. */
  #ok(request: SipRequest, info: ReceiveInfo, aor: string, bindings: readonly Binding[], now: number, extra: Array<[string, string]> = []): Promise<void> {
    const headers: Array<[string, string]> = [...extra];
    for (const b of bindings) {
      const params: Record<string, string | null> = { expires: String(Math.max(1, Math.ceil((b.expires - now) / 1000))) };
      if (b.q !== undefined) params.q = String(b.q);
      if (b.params !== undefined) Object.assign(params, b.params);
      headers.push(['Contact', formatNameAddr({ uri: b.contact, params })]);
    }
    headers.push(['Date', new Date(now).toUTCString()]);
    return this.#answer(request, info, { kind: 'reply', status: 200, reason: 'OK', headers }, aor, bindings.length);
  }

  async #answer(request: SipRequest, info: ReceiveInfo, outcome: RegisterReply, aor?: string, count?: number): Promise<void> {
    let response;
    try {
      response = createResponse(request, outcome.status, outcome.reason, { toTag: statelessToTag(request, 'r'), headers: outcome.headers ?? [] });
    } catch (error) {
      this.#logger?.warn?.({ error: String(error) }, 'cannot build a response');
      return;
    }
    if (registerChannel.hasSubscribers) registerChannel.publish({ aor, status: outcome.status, bindings: count ?? 0, source: info.source } satisfies RegisterEvent);
    this.#logger?.debug?.({ aor, status: outcome.status }, 'REGISTER answered');
    try {
      const result = await this.#dispatcher.deliver(response, { incoming: info });
      if (!result.ok) this.#logger?.warn?.({ aor, status: outcome.status, detail: result.detail }, 'could not send the REGISTER response');
    } catch (error) {
      // A dispatcher closed meanwhile: the client retransmits or times out (§10.2).
      this.#logger?.warn?.({ aor, status: outcome.status, error: String(error) }, 'could not send the REGISTER response');
    }
  }
}

/** The key of a flow: the client's transport address as the leg saw it. */
function flowKey(source: { transport: string; address: string; port: number }): string {
  return `${source.transport.toLowerCase()}|${source.address.toLowerCase()}|${source.port}`;
}
