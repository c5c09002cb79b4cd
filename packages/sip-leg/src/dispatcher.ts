/**
 * The dispatcher owns the legs and one receiver: it starts and closes them, hands every
 * received message to the receiver, and delivers outgoing messages through the leg that can
 * reach the destination, resolving a URI per RFC 3263 when only a URI is known.
 */
import { parseSipUri, type SipMessage } from '@sipway/sip-message';
import { LegClosedError, LegOptionsError } from './errors.js';
import type { Destination, Transport } from './destination.js';
import { errorChannel } from './diagnostics.js';
import { failure } from './leg.js';
import type { Leg, LegConnection, LegLogger, ReceiveInfo, SendFailure } from './leg.js';
import { responseTargetOf } from './via.js';
import { canonicalAddress } from './address.js';
import {
  type DestinationResolver,
  type RouteOptions,
  type RouteResult,
  destinationKey,
  failsOver,
  literalDestination,
  preferTransport,
} from './route.js';

export type { DestinationResolver, RouteFailure, RouteOptions, RouteResult } from './route.js';

/** The result with the count of destinations tried (the result objects are fresh: no copy). */
function withTried<T extends object>(result: T, tried: number): T & { tried: number } {
  (result as T & { tried: number }).tried = tried;
  return result as T & { tried: number };
}

/** Whatever handles received messages: a proxy, a registrar, a receive chain. */
export interface Receiver {
  receive(message: SipMessage, info: ReceiveInfo): unknown;
}

export interface DispatcherOptions {
  legs?: readonly Leg[] | undefined;
  receiver?: Receiver | undefined;
  /** Needed to deliver to a URI or to a response whose Via names a host; usually a `SipResolver`. */
  resolver?: DestinationResolver | undefined;
  logger?: LegLogger | undefined;
}

export interface DeliverOptions {
  /** Send here (a list: the first one some leg can reach is used). */
  destination?: Destination | readonly Destination[] | undefined;
  /** Resolve this URI (RFC 3263) when no destination is given. Default for requests: the Request-URI. */
  uri?: string | undefined;
  /** Only this leg may send. */
  leg?: Leg | undefined;
  /** Send on this connection (stream legs). */
  connection?: LegConnection | undefined;
  /** Prefer destinations over this transport (the one the request came in on, Net::SIP). */
  preferTransport?: Transport | undefined;
  /** The receive info of the message being forwarded or answered: sets preferTransport, and for responses leg and connection. */
  incoming?: ReceiveInfo | undefined;
}

/** Delivery failure: same shape as a leg's {@link SendFailure}. */
export type DeliverFailure = SendFailure;
export type DeliverResult = { ok: true; leg: Leg; destination: Destination; connection?: LegConnection | undefined } | DeliverFailure;

/**
 * Owns legs and a receiver; delivers without retransmitting (a stateless proxy never does).
 *
 * @see RFC 3261 §18 (transport selection), RFC 3263 §4 (resolution), §5 (responses)
 */
export class Dispatcher {
  private readonly legList: Leg[] = [];
  private receiver: Receiver | undefined;
  private readonly resolver: DestinationResolver | undefined;
  private readonly logger: LegLogger | undefined;
  private state: 'idle' | 'started' | 'closed' = 'idle';
  private readonly closeListeners = new Set<(connection: LegConnection, leg: Leg) => void>();
  private closing: Promise<void> | undefined;

  constructor(options: DispatcherOptions = {}) {
    this.receiver = options.receiver;
    this.resolver = options.resolver;
    this.logger = options.logger;
    for (const leg of options.legs ?? []) this.register(leg);
  }

  get legs(): readonly Leg[] {
    return this.legList;
  }

  /** Set (or replace) the receiver. */
  setReceiver(receiver: Receiver | undefined): void {
    this.receiver = receiver;
  }

  /** Add a leg; after `start()` it is started at once. */
  async addLeg(leg: Leg): Promise<void> {
    if (this.state === 'closed') throw new LegClosedError('dispatcher');
    this.register(leg);
    if (this.state === 'started') await leg.start();
  }

  private register(leg: Leg): void {
    if (this.legList.includes(leg)) throw new LegOptionsError('leg added twice');
    this.legList.push(leg);
    leg.onReceive = (message, info) => this.dispatch(message, info);
    leg.onConnectionClose = (connection) => {
      for (const listener of this.closeListeners) {
        try {
          listener(connection, leg);
        } catch (error) {
          this.logger?.error?.({ error: String(error) }, 'connection-close listener threw');
        }
      }
    };
  }

  /**
   * Call `listener` whenever a connection of a stream or WebSocket leg closes (a registrar drops
   * the bindings of a flow that closed, RFC 5626 §5.2). Returns a function that unsubscribes.
   */
  onConnectionClose(listener: (connection: LegConnection, leg: Leg) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Start every leg; if one fails, the others are closed and the error is thrown. */
  async start(): Promise<void> {
    if (this.state === 'closed') throw new LegClosedError('dispatcher');
    if (this.state === 'started') return;
    this.state = 'started';
    const results = await Promise.allSettled(this.legList.map((leg) => leg.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.close();
      throw failed.reason;
    }
  }

  /** Close every leg gracefully. Idempotent. */
  close(): Promise<void> {
    this.state = 'closed';
    this.closing ??= Promise.all(this.legList.map((leg) => leg.close())).then(() => undefined);
    return this.closing;
  }

  /** Destroy every leg at once. Idempotent. */
  destroy(error?: Error): void {
    this.state = 'closed';
    this.closing ??= Promise.resolve();
    for (const leg of this.legList) leg.destroy(error);
  }

  /**
   * The first started leg that can deliver to `destination` (transport and family match;
   * a TCP leg is never paired with a UDP destination — Net::SIP issue #68).
   */
  selectLeg(destination: Pick<Destination, 'transport' | 'family'>, only?: Leg): Leg | undefined {
    const pool = only === undefined ? this.legList : [only];
    return pool.find((leg) => leg.state === 'listening' && leg.canDeliverTo(destination));
  }

  /** The leg listening exactly at this destination (transport, address, port): sending there would loop. */
  legAt(destination: Pick<Destination, 'transport' | 'address' | 'port'>): Leg | undefined {
    const address = canonicalAddress(destination.address);
    return this.legList.find((leg) => leg.transport === destination.transport && leg.port === destination.port && canonicalAddress(leg.address) === address);
  }

  /**
   * Route and send one request: the one owner of "where does it go and through which leg".
   * The destinations come from `destination`, an IP-literal URI (or `maddr`), or RFC 3263
   * resolution of `uri` with the dispatcher's resolver; those over the incoming transport go
   * first; `refuse` filters them; the leg is `leg` (checked), else `selectLeg`, else the first
   * that can; a destination that is one of our own legs stops with `OWN_ADDRESS` (a loop).
   * `prepare` edits the message for the leg chosen, then it is sent; when the send fails with a
   * transport error the next destination the same leg reaches is tried (RFC 3263 §4.3; the
   * message names that leg in its Via and Record-Route), each destination at most once, never
   * over a given `connection` (a flow is never dialled again).
   *
   * @see RFC 3261 §16.6 steps 6–9, §18.1.1; RFC 3263 §4, §4.3
   */
  async route<Refusal = never>(message: SipMessage, options: RouteOptions<Refusal> = {}): Promise<RouteResult<Refusal>> {
    if (this.state === 'closed') throw new LegClosedError('dispatcher');
    const target = options.uri ?? (message.isRequest ? message.uri : undefined);
    let destinations: readonly Destination[];
    if (options.destination !== undefined) destinations = [options.destination];
    else {
      if (target === undefined) return failure('NO_DESTINATION', 503, 'nothing to deliver to');
      // An IP literal (most of a proxy's traffic) needs no resolver and no wait.
      const found = this.literalDestinations(target) ?? (await this.resolveUri(target, options.resolver));
      if (!found.ok) return found;
      destinations = found.destinations;
    }
    destinations = preferTransport(destinations, options.incoming?.leg.transport);
    const what = target ?? destinationKey(destinations[0]!);
    const pick = (d: Destination): Leg | undefined => {
      if (options.connection !== undefined && options.leg !== undefined) return options.leg;
      if (options.leg !== undefined) return this.selectLeg(d, options.leg);
      return options.selectLeg !== undefined ? options.selectLeg(d) : this.selectLeg(d);
    };
    let refused: string | undefined;
    let index = 0;
    let leg: Leg | undefined;
    for (; index < destinations.length; index++) {
      const d = destinations[index]!;
      const refused1 = options.refuse === undefined ? undefined : options.refuse(d);
      const refusal = isPromise(refused1) ? await refused1 : refused1;
      if (refusal !== undefined) {
        refused ??= `${d.address} (${refusal})`;
        continue;
      }
      leg = pick(d);
      if (leg !== undefined) break;
    }
    if (leg === undefined) {
      return refused !== undefined
        ? { ok: false, status: 403, reason: 'Forbidden', code: 'FORBIDDEN_DESTINATION', detail: `${what}: destination ${refused} is not allowed` }
        : failure('NO_LEG', 503, `no leg can reach ${what}`);
    }
    let destination = destinations[index]!;
    // A destination that is one of our own legs would loop until Max-Forwards runs out (Net::SIP §1.8).
    if (this.legAt(destination) !== undefined) {
      return { ok: false, status: 482, reason: 'Loop Detected', code: 'OWN_ADDRESS', detail: `${what} is this proxy`, destination };
    }
    if (options.prepare !== undefined) {
      const prepared = options.prepare(leg, destination);
      const refusal = isPromise(prepared) ? await prepared : prepared;
      if (refusal !== undefined) return { ok: false, code: 'REFUSED', refusal };
    }
    // What was tried, made only when a send fails and there is a next destination to try.
    let sent: Set<string> | undefined;
    let tried = 0;
    for (;;) {
      tried++;
      const result = await this.sendOn(leg, message, destination, options.connection);
      if (result.ok || options.connection !== undefined || !failsOver(result.code) || index + 1 >= destinations.length) return withTried(result, tried);
      (sent ??= new Set()).add(destinationKey(destination));
      const next = await this.nextDestination(destinations, index + 1, leg, sent, pick, options.refuse);
      if (next === undefined) return withTried(result, tried);
      index = next;
      destination = destinations[next]!;
    }
  }

  /** The next destination after `from` that the same leg reaches, not refused, not ours and not tried yet. */
  private async nextDestination(
    destinations: readonly Destination[],
    from: number,
    leg: Leg,
    sent: ReadonlySet<string>,
    pick: (d: Destination) => Leg | undefined,
    refuse: ((d: Destination) => string | undefined | Promise<string | undefined>) | undefined,
  ): Promise<number | undefined> {
    for (let i = from; i < destinations.length; i++) {
      const d = destinations[i]!;
      if (sent.has(destinationKey(d)) || pick(d) !== leg || this.legAt(d) !== undefined) continue;
      if (refuse !== undefined && (await refuse(d)) !== undefined) continue;
      return i;
    }
    return undefined;
  }

  /** The destination of an IP-literal URI (or its maddr), or a failure; undefined when the URI names a host to resolve. */
  private literalDestinations(target: string): { ok: true; destinations: readonly Destination[] } | DeliverFailure | undefined {
    const uri = parseSipUri(target);
    const literal = uri === undefined ? undefined : literalDestination(uri);
    if (typeof literal === 'string') return failure('NO_DESTINATION', 503, literal);
    return literal === undefined ? undefined : { ok: true, destinations: [literal] };
  }

  /** IP literals (and maddr) directly, RFC 3263 §4.1/§4.2; names through the resolver. */
  private async resolveUri(
    target: string,
    resolver: DestinationResolver | undefined = this.resolver,
  ): Promise<{ ok: true; destinations: readonly Destination[] } | DeliverFailure> {
    const uri = parseSipUri(target);
    const literal = uri === undefined ? undefined : literalDestination(uri);
    if (typeof literal === 'string') return failure('NO_DESTINATION', 503, literal);
    if (literal !== undefined) return { ok: true, destinations: [literal] };
    if (resolver === undefined) return failure('RESOLVE_FAILED', 503, `no resolver to find ${target}`);
    const transports = [...new Set(this.legList.map((l) => l.transport))];
    try {
      const r = await resolver.resolve(target, { transports });
      // The resolver's reason is a fixed phrase already; failure() derives the same from the status.
      // SipResolver answers a `.invalid` name (RFC 6761 §6.4) with 480 at once, and says so in its detail.
      if (!r.ok) return failure('RESOLVE_FAILED', r.status, r.detail ?? `resolving ${target} failed`);
      return { ok: true, destinations: r.destinations };
    } catch (error) {
      return failure('RESOLVE_FAILED', 503, `resolving ${target} failed: ${String(error)}`, error);
    }
  }

  /**
   * Send one message once. Failures are values: 503 when no leg can reach any destination or
   * resolution fails, the leg's failure (503/408/513) when sending fails.
   */
  async deliver(message: SipMessage, options: DeliverOptions = {}): Promise<DeliverResult> {
    if (this.state === 'closed') throw new LegClosedError('dispatcher');
    const incoming = options.incoming;
    const prefer = options.preferTransport ?? incoming?.leg.transport;
    let onlyLeg = options.leg;
    let connection = options.connection;
    if (!message.isRequest && options.destination === undefined && options.uri === undefined) {
      onlyLeg ??= incoming?.leg;
      connection ??= incoming?.connection;
      if (onlyLeg !== undefined || connection !== undefined) {
        const leg = onlyLeg ?? this.legList.find((l) => l.transport === connection?.transport);
        if (leg !== undefined) return this.sendOn(leg, message, undefined, connection);
      }
    }

    let destinations: readonly Destination[];
    if (options.destination !== undefined) {
      destinations = Array.isArray(options.destination) ? options.destination : [options.destination as Destination];
    } else {
      const found = await this.findDestinations(message, options.uri);
      if (!found.ok) return found;
      destinations = found.destinations;
    }
    if (prefer !== undefined) {
      destinations = [...destinations.filter((d) => d.transport === prefer), ...destinations.filter((d) => d.transport !== prefer)];
    }
    for (const destination of destinations) {
      const leg = this.selectLeg(destination, onlyLeg);
      if (leg !== undefined) return this.sendOn(leg, message, destination, connection);
    }
    const tried = destinations.map((d) => `${d.transport}:${d.address}:${d.port}`).join(', ');
    return failure('NO_LEG', 503, `no leg can deliver to ${tried || 'any destination'}`);
  }

  private async sendOn(
    leg: Leg,
    message: SipMessage,
    destination: Destination | undefined,
    connection: LegConnection | undefined,
  ): Promise<DeliverResult> {
    const result = await leg.send(message, destination, connection === undefined ? undefined : { connection });
    return result.ok ? { ok: true, leg, destination: result.destination, connection: result.connection } : result;
  }

  private async findDestinations(
    message: SipMessage,
    uri: string | undefined,
  ): Promise<{ ok: true; destinations: readonly Destination[] } | DeliverFailure> {
    let target = uri;
    // A response goes where its Via says, never through an outbound proxy or domain map (RFC 3263 §5).
    let direct = false;
    if (target === undefined && !message.isRequest) {
      direct = true;
      const t = responseTargetOf(message);
      if (t.kind === 'invalid') return failure('NO_DESTINATION', 503, t.reason);
      if (t.kind === 'address') return { ok: true, destinations: [t.destination] };
      // RFC 3263 §5: a sent-by name is resolved like a URI with that transport and port.
      const hostPart = t.host.includes(':') ? `[${t.host}]` : t.host;
      target = `sip:${hostPart}${t.port === undefined ? '' : `:${t.port}`};transport=${t.transport}`;
    }
    if (target === undefined && message.isRequest) target = message.uri;
    if (target === undefined) return failure('NO_DESTINATION', 503, 'nothing to deliver to');
    if (this.resolver === undefined) return failure('RESOLVE_FAILED', 503, `no resolver to find ${target}`);
    const transports = [...new Set(this.legList.map((l) => l.transport))];
    let resolved: Awaited<ReturnType<DestinationResolver['resolve']>>;
    try {
      resolved = await this.resolver.resolve(target, direct ? { transports, direct } : { transports });
    } catch (error) {
      return failure('RESOLVE_FAILED', 503, `resolving ${target} failed: ${String(error)}`, error);
    }
    // The resolver's reason is a fixed phrase already; failure() derives the same from the status.
    if (!resolved.ok) return failure('RESOLVE_FAILED', resolved.status, resolved.detail ?? `resolving ${target} failed: ${resolved.reason}`);
    return { ok: true, destinations: resolved.destinations };
  }

  private dispatch(message: SipMessage, info: ReceiveInfo): void {
    const receiver = this.receiver;
    if (receiver === undefined || this.state !== 'started') return;
    // Net::SIP catches a croaking receiver and drops the packet; here async failures are
    // caught too, so one bad message never takes the event loop down.
    const report = (error: unknown): void => {
      if (errorChannel.hasSubscribers) errorChannel.publish({ leg: info.leg, kind: 'receiver-failed', error, source: info.source, connection: info.connection });
      this.logger?.error?.({ error: String(error) }, 'receiver failed');
    };
    try {
      const out = receiver.receive(message, info);
      if (out instanceof Promise) out.catch(report);
    } catch (error) {
      report(error);
    }
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}
