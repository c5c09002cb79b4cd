import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SIPWAY_CHANNELS } from './channels.js';
import { AdminOptionsError } from './errors.js';
import { legLabel, methodLabel, statusClass, statusLabel, tokenLabel } from './labels.js';

/** Counts the current bindings for the `sipway_registrar_bindings` gauge (e.g. the sum over `registrar.list()`). */
export type BindingsCounter = () => Promise<number>;

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Where the metrics are registered. Default: a new `Registry` of its own (never prom-client's global one). */
  registry?: Registry | undefined;
  /** Counts current bindings at each scrape; can also be set later with {@link SipwayMetrics.setBindingsCounter}. */
  bindings?: BindingsCounter | undefined;
  /** Milliseconds a scrape waits for `bindings()` before reporting NaN (default 2000). */
  bindingsTimeoutMs?: number | undefined;
  /** Also collect prom-client's process metrics (CPU, memory, event loop lag, GC) in the registry. Default false. */
  defaultMetrics?: boolean | undefined;
  /** Histogram buckets of `sipway_location_store_duration_seconds`, in seconds. */
  storeBuckets?: readonly number[] | undefined;
}

/** Outcome of one location-store call, as a label. */
export type StoreOutcome = 'ok' | 'conflict' | 'error';

/**
 * Prometheus metrics fed by sipway's diagnostics_channel events. Subscribed while alive;
 * {@link SipwayMetrics.dispose} unsubscribes and removes the metrics from the registry.
 */
export interface SipwayMetrics {
  /** The registry holding the metrics (`await registry.metrics()` is the text format). */
  readonly registry: Registry;
  /** True after {@link dispose}. */
  readonly disposed: boolean;
  /** Records one location-store call (what {@link instrumentStore} does for every call). */
  observeStore(operation: string, seconds: number, outcome: StoreOutcome): void;
  /** Sets (or replaces) the function behind the bindings gauge. */
  setBindingsCounter(counter: BindingsCounter | undefined): void;
  /** The Prometheus text exposition of the registry. */
  text(): Promise<string>;
  /** Unsubscribes from every channel and removes these metrics from the registry. Idempotent. */
  dispose(): void;
}

const MESSAGE_METRICS = ['sipway_sip_messages_received_total', 'sipway_sip_messages_sent_total', 'sipway_sip_responses_total'];

/** One series of the message counters: its labels and its count. */
interface Cell {
  readonly leg: string;
  readonly kind: 'request' | 'response';
  readonly method: string;
  n: number;
}

/** Per-leg message counts, kept as plain numbers: the leg events run for every message. */
class MessageTallies {
  readonly cells = { received: [] as Cell[], sent: [] as Cell[] };
  readonly #legs = new WeakMap<object, { label: string; received: Map<string, Cell>; sent: Map<string, Cell> }>();
  readonly #noLeg = {};

  count(direction: 'received' | 'sent', event: unknown): void {
    const message = field(event, 'message');
    if (typeof message !== 'object' || message === null) return;
    let leg = field(event, 'leg');
    if (typeof leg !== 'object' || leg === null) leg = this.#noLeg;
    let table = this.#legs.get(leg as object);
    if (table === undefined) {
      table = { label: legLabel(leg), received: new Map(), sent: new Map() };
      this.#legs.set(leg as object, table);
    }
    const request = (message as { isRequest?: unknown }).isRequest === true;
    const method = request ? methodLabel((message as { method?: unknown }).method) : statusClass((message as { status?: unknown }).status);
    // 'other' is both a method and a status class label: the key keeps them apart.
    const key = request ? method : `#${method}`;
    const cells = table[direction];
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = { leg: table.label, kind: request ? 'request' : 'response', method, n: 0 };
      cells.set(key, cell);
      this.cells[direction].push(cell);
    }
    cell.n++;
  }
}

const DEFAULT_STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Inc = (labels: readonly string[]) => void;

/** `counter.labels(...).inc()` with the children cached: the leg events run for every message. */
function incrementer(counter: Counter<string>): Inc {
  const children = new Map<string, { inc(): void }>();
  return (labels) => {
    const key = labels.join('\0');
    let child = children.get(key);
    if (child === undefined) {
      child = counter.labels(...labels);
      children.set(key, child);
    }
    child.inc();
  };
}

function field(event: unknown, name: string): unknown {
  return typeof event === 'object' && event !== null ? (event as Record<string, unknown>)[name] : undefined;
}

/** `['request', 'INVITE']` or `['response', '2xx']` for a SipMessage-shaped value. */
function messageLabels(message: unknown): [string, string] {
  if (field(message, 'isRequest') === true) return ['request', methodLabel(field(message, 'method'))];
  return ['response', statusClass(field(message, 'status'))];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Creates the metrics and subscribes them to the diagnostics channels of the sipway packages
 * (legs, proxy, registrar, receive chain, auth). Channels nobody publishes on simply stay at zero.
 *
 * | metric | labels |
 * |---|---|
 * | `sipway_sip_messages_received_total`, `sipway_sip_messages_sent_total` | `leg`, `kind`, `method` (status class for responses) |
 * | `sipway_sip_responses_total` | `direction` (`received`/`sent`), `class` |
 * | `sipway_leg_errors_total` | `leg`, `kind` |
 * | `sipway_proxy_forwarded_total` | `kind` |
 * | `sipway_proxy_forward_failures_total` | `reason`, `action` (`answered`/`dropped`) |
 * | `sipway_registrar_registers_total` | `status`, `class` |
 * | `sipway_registrar_bindings` (gauge), `sipway_registrar_bindings_errors_total` | — |
 * | `sipway_location_store_duration_seconds` (histogram) | `operation`, `outcome` |
 * | `sipway_chain_unhandled_total` | `kind` |
 * | `sipway_auth_challenges_total` | `status`, `stale` |
 * | `sipway_auth_authorized_total` | `algorithm` |
 * | `sipway_auth_failures_total` | `reason`, `status` |
 * | `sipway_admission_blocked_total` | `reason`, `action` |
 *
 * @see RFC 3261 §7.2 (status classes), §27.4 (method names)
 */
export function createMetrics(options: MetricsOptions = {}): SipwayMetrics {
  const registry = options.registry ?? new Registry();
  const timeoutMs = options.bindingsTimeoutMs ?? 2000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AdminOptionsError('bindingsTimeoutMs must be a positive number');
  if (options.bindings !== undefined && typeof options.bindings !== 'function') throw new AdminOptionsError('bindings must be a function');
  let countBindings = options.bindings;
  let pendingCount: Promise<void> | undefined;
  const registers = [registry];

  // The per-message counts are plain numbers in the hot path (one Map lookup and an increment per
  // event) and become prom-client series only when scraped.
  const tallies = new MessageTallies();
  new Counter({
    name: 'sipway_sip_messages_received_total',
    help: 'SIP messages received per leg; method is the request method or the response status class',
    labelNames: ['leg', 'kind', 'method'],
    registers,
    collect() {
      this.reset();
      for (const c of tallies.cells.received) this.labels(c.leg, c.kind, c.method).inc(c.n);
    },
  });
  new Counter({
    name: 'sipway_sip_messages_sent_total',
    help: 'SIP messages sent per leg; method is the request method or the response status class',
    labelNames: ['leg', 'kind', 'method'],
    registers,
    collect() {
      this.reset();
      for (const c of tallies.cells.sent) this.labels(c.leg, c.kind, c.method).inc(c.n);
    },
  });
  new Counter({
    name: 'sipway_sip_responses_total',
    help: 'SIP responses received and sent, by status class',
    labelNames: ['direction', 'class'],
    registers,
    collect() {
      this.reset();
      for (const direction of ['received', 'sent'] as const) {
        for (const c of tallies.cells[direction]) if (c.kind === 'response') this.labels(direction, c.method).inc(c.n);
      }
    },
  });
  const legErrors = new Counter({
    name: 'sipway_leg_errors_total',
    help: 'Inputs dropped, sends failed and connections lost, per leg and kind',
    labelNames: ['leg', 'kind'],
    registers,
  });
  const forwarded = new Counter({
    name: 'sipway_proxy_forwarded_total',
    help: 'Requests and responses the proxy forwarded',
    labelNames: ['kind'],
    registers,
  });
  const forwardFailures = new Counter({
    name: 'sipway_proxy_forward_failures_total',
    help: 'Messages the proxy did not forward, by reason; answered with an error or dropped',
    labelNames: ['reason', 'action'],
    registers,
  });
  const registersTotal = new Counter({
    name: 'sipway_registrar_registers_total',
    help: 'REGISTER requests the registrar answered, by status',
    labelNames: ['status', 'class'],
    registers,
  });
  const bindings = new Gauge({
    name: 'sipway_registrar_bindings',
    help: 'Current live bindings in the location service (NaN when the store did not answer)',
    registers,
    collect() {
      if (countBindings === undefined) return undefined;
      pendingCount = withTimeout(countBindings(), timeoutMs).then(
        (n) => this.set(Number.isFinite(n) ? n : Number.NaN),
        () => {
          bindingErrors.inc();
          this.set(Number.NaN);
        },
      );
      return pendingCount;
    },
  });
  // Registered after the gauge: prom-client collects all metrics at once, so this one waits for
  // the count the gauge started in the same scrape.
  const bindingErrors = new Counter({
    name: 'sipway_registrar_bindings_errors_total',
    help: 'Scrapes where the current bindings could not be counted (the gauge is NaN then)',
    registers,
    async collect() {
      await pendingCount;
    },
  });
  const storeDuration = new Histogram({
    name: 'sipway_location_store_duration_seconds',
    help: 'Latency of location store calls, by operation and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [...(options.storeBuckets ?? DEFAULT_STORE_BUCKETS)],
    registers,
  });
  const unhandled = new Counter({
    name: 'sipway_chain_unhandled_total',
    help: 'Messages no receive-chain member took',
    labelNames: ['kind'],
    registers,
  });
  const challenges = new Counter({
    name: 'sipway_auth_challenges_total',
    help: 'Digest challenges sent (401/407), stale or not',
    labelNames: ['status', 'stale'],
    registers,
  });
  const authorized = new Counter({
    name: 'sipway_auth_authorized_total',
    help: 'Requests whose digest credentials were accepted, by algorithm',
    labelNames: ['algorithm'],
    registers,
  });
  const authFailures = new Counter({
    name: 'sipway_auth_failures_total',
    help: 'Credentials refused, by reason and answer',
    labelNames: ['reason', 'status'],
    registers,
  });
  const blocked = new Counter({
    name: 'sipway_admission_blocked_total',
    help: 'Requests refused by the rate limiter, by reason and action (503 or drop)',
    labelNames: ['reason', 'action'],
    registers,
  });
  const mediaSessions = new Counter({
    name: 'sipway_media_sessions_total',
    help: 'Relayed calls opened (offer), activated (answer) and closed, the closed ones by reason (bye, cancel, rejected, idle, unanswered, failed, closed)',
    labelNames: ['event', 'reason'],
    registers,
  });
  const mediaActive = new Gauge({
    name: 'sipway_media_sessions',
    help: 'Calls the media relay holds sockets for now',
    registers,
  });
  const mediaPackets = new Counter({
    name: 'sipway_media_packets_total',
    help: 'RTP/RTCP packets relayed, by relay',
    labelNames: ['relay'],
    registers,
  });
  const mediaBytes = new Counter({
    name: 'sipway_media_bytes_total',
    help: 'RTP/RTCP bytes relayed (UDP payload), by relay',
    labelNames: ['relay'],
    registers,
  });
  const mediaDropped = new Counter({
    name: 'sipway_media_dropped_packets_total',
    help: 'Packets the media relay dropped: before the answer, from a source other than the latched one, or with nowhere to go',
    labelNames: ['relay'],
    registers,
  });
  // prom-client sets `name` on every metric; its typings just do not declare it.
  const owned = [legErrors, forwarded, forwardFailures, registersTotal, bindingErrors, bindings, storeDuration, unhandled, challenges, authorized, authFailures, blocked, mediaSessions, mediaActive, mediaPackets, mediaBytes, mediaDropped] as unknown as ReadonlyArray<{ name: string }>;

  const incLegErrors = incrementer(legErrors);
  const incForwarded = incrementer(forwarded);
  const incFailures = incrementer(forwardFailures);
  const incRegisters = incrementer(registersTotal);
  const incUnhandled = incrementer(unhandled);
  const incChallenges = incrementer(challenges);
  const incAuthorized = incrementer(authorized);
  const incAuthFailures = incrementer(authFailures);
  const incBlocked = incrementer(blocked);
  const incMediaSessions = incrementer(mediaSessions);
  const countOf = (event: unknown, name: string): number => {
    const v = field(event, name);
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
  };

  // Leg labels are computed once per leg object (a leg's address never changes once started).
  const legLabels = new WeakMap<object, string>();
  const legOf = (event: unknown): string => {
    const leg = field(event, 'leg');
    if (typeof leg !== 'object' || leg === null) return 'unknown';
    let label = legLabels.get(leg);
    if (label === undefined) {
      label = legLabel(leg);
      if (label !== 'unknown') legLabels.set(leg, label);
    }
    return label;
  };

  const handlers: Array<[string, (event: unknown) => void]> = [
    [SIPWAY_CHANNELS.legReceive, (event) => tallies.count('received', event)],
    [SIPWAY_CHANNELS.legSend, (event) => tallies.count('sent', event)],
    [SIPWAY_CHANNELS.legError, (event) => incLegErrors([legOf(event), tokenLabel(field(event, 'kind'))])],
    [SIPWAY_CHANNELS.proxyForward, (event) => incForwarded([messageLabels(field(event, 'message'))[0]])],
    [
      SIPWAY_CHANNELS.proxyReply,
      (event) => {
        const code = field(event, 'code');
        // The proxy answering an OPTIONS addressed to itself is service, not a failure.
        if (code !== 'answered-options') incFailures([tokenLabel(code), 'answered']);
      },
    ],
    [SIPWAY_CHANNELS.proxyDrop, (event) => incFailures([tokenLabel(field(event, 'code')), 'dropped'])],
    [
      SIPWAY_CHANNELS.registrarRegister,
      (event) => {
        const status = field(event, 'status');
        incRegisters([statusLabel(status), statusClass(status)]);
      },
    ],
    [SIPWAY_CHANNELS.chainUnhandled, (event) => incUnhandled([messageLabels(field(event, 'message'))[0]])],
    [
      SIPWAY_CHANNELS.authChallenged,
      (event) => incChallenges([statusLabel(field(event, 'status')), field(event, 'stale') === true ? 'true' : 'false']),
    ],
    [SIPWAY_CHANNELS.authAuthorized, (event) => incAuthorized([tokenLabel(field(event, 'algorithm'))])],
    [SIPWAY_CHANNELS.authFailed, (event) => incAuthFailures([tokenLabel(field(event, 'reason')), statusLabel(field(event, 'status'))])],
    [
      SIPWAY_CHANNELS.authBlocked,
      (event) => {
        const action = field(event, 'action');
        incBlocked([tokenLabel(field(event, 'reason')), action === 'drop' ? 'drop' : statusLabel(action)]);
      },
    ],
    [
      SIPWAY_CHANNELS.mediaSession,
      (event) => {
        const kind = field(event, 'event');
        if (kind !== 'open' && kind !== 'active' && kind !== 'close') return;
        incMediaSessions([kind, kind === 'close' ? tokenLabel(field(event, 'reason')) : '']);
        if (kind === 'open') mediaActive.inc();
        else if (kind === 'close') mediaActive.dec();
      },
    ],
    [
      SIPWAY_CHANNELS.mediaTraffic,
      (event) => {
        const relay = tokenLabel(field(event, 'relay'));
        const packets = countOf(event, 'packets');
        const bytes = countOf(event, 'bytes');
        const dropped = countOf(event, 'dropped');
        if (packets > 0) mediaPackets.inc({ relay }, packets);
        if (bytes > 0) mediaBytes.inc({ relay }, bytes);
        if (dropped > 0) mediaDropped.inc({ relay }, dropped);
      },
    ],
  ];
  // A metric must never break message handling: a subscriber that threw would surface in the publisher.
  const safe = handlers.map(([name, fn]): [string, (event: unknown) => void] => [
    name,
    (event) => {
      try {
        fn(event);
      } catch {
        // Counting is best effort.
      }
    },
  ]);
  for (const [name, fn] of safe) subscribe(name, fn);

  // Process metrics added here are removed again on dispose, so the registry can be reused.
  const processMetrics: string[] = [];
  if (options.defaultMetrics === true) {
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    collectDefaultMetrics({ register: registry });
    for (const m of registry.getMetricsAsArray()) if (!before.has(m.name)) processMetrics.push(m.name);
  }

  let disposed = false;
  return {
    registry,
    get disposed() {
      return disposed;
    },
    observeStore(operation, seconds, outcome) {
      if (disposed) return;
      storeDuration.labels(tokenLabel(operation), outcome).observe(seconds);
    },
    setBindingsCounter(counter) {
      if (counter !== undefined && typeof counter !== 'function') throw new AdminOptionsError('bindings counter must be a function');
      countBindings = counter;
    },
    text() {
      return registry.metrics();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const [name, fn] of safe) unsubscribe(name, fn);
      for (const metric of owned) registry.removeSingleMetric(metric.name);
      for (const name of MESSAGE_METRICS) registry.removeSingleMetric(name);
      for (const name of processMetrics) registry.removeSingleMetric(name);
    },
  };
}
