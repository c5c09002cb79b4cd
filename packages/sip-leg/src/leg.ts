/**
 * The leg contract: one local transport endpoint and its identity as SIP sees it, plus
 * {@link BaseLeg}, the lifecycle, identity and receive-path code every transport shares.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createResponse, parseMessage, REASON_PHRASES, serializeMessage } from '@sipway/sip-message';
import type { SipMessage, SipRequest, Via } from '@sipway/sip-message';
import { canonicalAddress, hostPort, ipFamily, isWildcard } from './address.js';
import type { AddressFamily, Destination, Transport } from './destination.js';
import { errorChannel, receiveChannel, sendChannel } from './diagnostics.js';
import { LegClosedError, LegOptionsError, SipLegError } from './errors.js';
import { LOG_SAMPLE_INTERVAL_MS, LogSampler, OVERFLOW_KEY } from './log-sampler.js';
import { responseTarget, responseTargetOf, sentProtocolAndBy, stampVia } from './via.js';

/** Where a message came from. Same shape as a {@link Destination}, so a reply can go back to it. */
export interface Source {
  transport: Transport;
  address: string;
  port: number;
  family: AddressFamily;
}

/** One connection of a stream leg (TCP, TLS, WebSocket). */
export interface LegConnection {
  readonly id: string;
  readonly transport: Transport;
  /** The peer. */
  readonly remote: Source;
  readonly local: { address: string; port: number };
  /** `inbound` when the peer connected to us. */
  readonly direction: 'inbound' | 'outbound';
  readonly closed: boolean;
  /** Close gracefully (end after pending writes). */
  close(): void;
  /**
   * Keep this connection open while idle until `epochMs` (a registrar calls it for the
   * connection a REGISTER came on, until the binding expires: RFC 5626 §4.4, §5.2). A later
   * call replaces the time; 0 unpins. Legs built with `keepRegisteredFlows: false` ignore it.
   */
  keepOpenUntil?(epochMs: number): void;
}

/** What the receive callback gets besides the message. */
export interface ReceiveInfo {
  source: Source;
  leg: Leg;
  /** The connection it came on (stream transports only). */
  connection?: LegConnection | undefined;
  /**
   * The user an authenticator ahead in the receive chain verified this request as (set by
   * @sipway/auth's DigestAuthenticator); later members, such as the proxy's relay policy, trust it.
   */
  authenticatedUser?: string | undefined;
}

export type ReceiveHandler = (message: SipMessage, info: ReceiveInfo) => void;

/** Why a send failed. */
export type SendFailureCode =
  | 'TRANSPORT_MISMATCH'
  | 'NO_DESTINATION'
  | 'UNRESOLVED_HOST'
  | 'MESSAGE_TOO_LARGE'
  | 'CONNECT_TIMEOUT'
  | 'CONNECT_FAILED'
  | 'NO_CONNECTION'
  | 'TOO_MANY_CONNECTIONS'
  | 'BUFFER_FULL'
  | 'SEND_FAILED'
  | 'NO_LEG'
  | 'RESOLVE_FAILED';

/**
 * A failed send, as a value. `status` is the SIP status an upper layer should act on: 503 for
 * transport errors and 408 for a connect timeout (RFC 3261 §8.1.3.1, §16.9), 513 when too large.
 * `reason` is a fixed reason phrase safe to put on the wire (`Service Unavailable`, `Request
 * Timeout` …); `detail` says what happened (addresses, OpenSSL errors) and is for logs only.
 */
export interface SendFailure {
  ok: false;
  status: number;
  /** Fixed SIP reason phrase for `status`; never carries error text. */
  reason: string;
  /** What went wrong, for logs: never put it in a message. */
  detail: string;
  code: SendFailureCode;
  cause?: unknown;
}
export interface SendSuccess {
  ok: true;
  destination: Destination;
  connection?: LegConnection | undefined;
}
export type SendResult = SendSuccess | SendFailure;

export interface SendOptions {
  /** Send on this connection (stream legs); the destination is then its peer. */
  connection?: LegConnection | undefined;
}

export type LegState = 'idle' | 'starting' | 'listening' | 'closing' | 'closed';

/**
 * Optional logger in pino's `(fields, msg)` order, every method optional: a pino logger (or a
 * child of one) is passed straight in. The shape every sipway package takes.
 */
export interface LegLogger {
  debug?(fields: Record<string, unknown>, msg: string): void;
  info?(fields: Record<string, unknown>, msg: string): void;
  warn?(fields: Record<string, unknown>, msg: string): void;
  error?(fields: Record<string, unknown>, msg: string): void;
}

/**
 * One local SIP transport endpoint.
 * @see RFC 3261 §18 (transport layer)
 */
export interface Leg {
  readonly transport: Transport;
  /** Bound IP address (IPv6 without brackets). */
  readonly address: string;
  /** Bound port (the real one after `start()` when 0 was asked). */
  readonly port: number;
  readonly family: AddressFamily;
  /** Host written in Via and contact: the `host` option, else the address. */
  readonly host: string;
  /** Via sent-by, `host:port` (RFC 3261 §20.42). */
  readonly sentBy: string;
  /** Contact URI of the leg, e.g. `sip:192.0.2.1:5060`, `sip:[::1]:5060;transport=tcp`, `sips:h:5061;transport=tls`. */
  readonly contact: string;
  /** Record-Route value for this leg: `<contact;lr>` (RFC 3261 §16.6 step 4). */
  readonly recordRoute: string;
  /** Base of this leg's Via branches: `z9hG4bK` + 32 hex, unique per leg (RFC 3261 §8.1.1.7). */
  readonly branchBase: string;
  readonly state: LegState;
  /** Receive callback (set by the dispatcher). */
  onReceive: ReceiveHandler | undefined;
  /** Connection-closed callback of stream and WebSocket legs (set by the dispatcher). */
  onConnectionClose?: ((connection: LegConnection) => void) | undefined;
  /**
   * Stream and WebSocket legs: the open connection to or from this peer (newest first), if any.
   * A proxy uses it to reach a client over the connection it registered on (RFC 5626 §5.3).
   */
  connectionTo?(address: string, port: number): LegConnection | undefined;
  /** A Via value for this leg with the given branch (default: a fresh one). */
  via(branch?: string): string;
  /** A branch unique in space and time under `branchBase` (RFC 3261 §8.1.1.7). */
  newBranch(): string;
  /** True when transport and address family match (Net::SIP `can_deliver_to`). */
  canDeliverTo(destination: Pick<Destination, 'transport' | 'family'>): boolean;
  start(): Promise<void>;
  /**
   * Send one message. Responses may omit the destination: it is taken from the top Via
   * (RFC 3261 §18.2.2) or the connection the request came on. Never rejects for network
   * failures; rejects with {@link LegClosedError} when used after close.
   */
  send(message: SipMessage, destination?: Destination, options?: SendOptions): Promise<SendResult>;
  /** Graceful and idempotent: stop accepting, end connections after pending writes. */
  close(): Promise<void>;
  /** Abrupt: drop sockets at once. Idempotent. */
  destroy(error?: Error): void;
}

/** Options every leg accepts. */
export interface BaseLegOptions {
  /** IP address to bind (default `127.0.0.1`; `::1` or any local IP; wildcards need `host`). */
  address?: string | undefined;
  /** Port to bind; 0 = ephemeral. Default 5060 (5061 for TLS/WSS). */
  port?: number | undefined;
  /** Name or IP to write in Via and contact instead of the bound address. */
  host?: string | undefined;
  /** Largest message accepted (default 65535, RFC 3261 §18.1.1 datagram limit). */
  maxMessageSize?: number | undefined;
  /** Answer unparseable requests that still carry Via/From/To/Call-ID/CSeq with 400 (default true). */
  answerBadRequests?: boolean | undefined;
  onReceive?: ReceiveHandler | undefined;
  logger?: LegLogger | undefined;
}

/** Options of the connection-oriented legs (TCP, TLS, WS, WSS) about registered flows. */
export interface FlowLegOptions {
  /**
   * Honour {@link LegConnection.keepOpenUntil}: a connection a client registered over is not
   * closed for idleness while its binding lives (RFC 5626 §4.4, §5.2). Default true.
   */
  keepRegisteredFlows?: boolean | undefined;
}

let nextLegId = 0;

/** Shared lifecycle, identity and receive path. Transports implement the `protected` hooks. */
export abstract class BaseLeg implements Leg {
  abstract readonly transport: Transport;
  onReceive: ReceiveHandler | undefined;
  onConnectionClose: ((connection: LegConnection) => void) | undefined;
  protected readonly logger: LegLogger | undefined;
  protected readonly maxMessageSize: number;
  protected readonly answerBadRequests: boolean;
  protected boundAddress: string;
  protected boundPort: number;
  private readonly hostOption: string | undefined;
  private currentState: LegState = 'idle';
  private closing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private branchKey = '';
  private branchBaseCache = '';
  private readonly branchSalt = randomBytes(4).toString('hex');
  private branchCounter = 0;
  /** Distinguishes legs in logs. */
  readonly id = `leg${++nextLegId}`;
  private sampler: LogSampler | undefined;

  constructor(options: BaseLegOptions, defaultListenPort: number) {
    const address = options.address ?? '127.0.0.1';
    if (ipFamily(address) === undefined) throw new LegOptionsError(`address must be an IP literal, got ${address}`);
    if (isWildcard(address) && options.host === undefined) {
      throw new LegOptionsError('a wildcard address needs the host option (the name to write in Via and Record-Route)');
    }
    const port = options.port ?? defaultListenPort;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LegOptionsError(`invalid port ${port}`);
    this.boundAddress = canonicalAddress(address);
    this.boundPort = port;
    this.hostOption = options.host;
    this.maxMessageSize = options.maxMessageSize ?? 65535;
    this.answerBadRequests = options.answerBadRequests ?? true;
    this.onReceive = options.onReceive;
    this.logger = options.logger;
  }

  get address(): string {
    return this.boundAddress;
  }
  get port(): number {
    return this.boundPort;
  }
  get family(): AddressFamily {
    return ipFamily(this.boundAddress) ?? 4;
  }
  get host(): string {
    return this.hostOption ?? this.boundAddress;
  }
  get state(): LegState {
    return this.currentState;
  }
  get sentBy(): string {
    return hostPort(this.host, this.port);
  }
  get contact(): string {
    const scheme = this.transport === 'tls' ? 'sips' : 'sip';
    const transportParam = this.transport === 'udp' ? '' : `;transport=${this.transport}`;
    return `${scheme}:${hostPort(this.host, this.port)}${transportParam}`;
  }
  get recordRoute(): string {
    return `<${this.contact};lr>`;
  }
  get branchBase(): string {
    // Net::SIP: md5_hex(addr . port . proto) — stable across restarts, unique per bound endpoint.
    const key = `${this.boundAddress}${this.boundPort}${this.transport}`;
    if (this.branchKey !== key) {
      this.branchKey = key;
      this.branchBaseCache = `z9hG4bK${createHash('md5').update(key).digest('hex')}`;
    }
    return this.branchBaseCache;
  }

  via(branch?: string): string {
    return `${sentProtocolAndBy(this.transport, this.host, this.port)};branch=${branch ?? this.newBranch()}`;
  }

  /**
   * A fresh branch: the leg's base plus 16 hex digits — 8 random per leg instance and an
   * 8-digit counter — unique across space and time as RFC 3261 §8.1.1.7 asks, without a
   * random draw per message.
   */
  newBranch(): string {
    this.branchCounter = (this.branchCounter + 1) >>> 0;
    return `${this.branchBase}${this.branchSalt}${this.branchCounter.toString(16).padStart(8, '0')}`;
  }

  canDeliverTo(destination: Pick<Destination, 'transport' | 'family'>): boolean {
    return destination.transport === this.transport && destination.family === this.family;
  }

  async start(): Promise<void> {
    if (this.currentState === 'listening') return;
    if (this.currentState === 'closing' || this.currentState === 'closed') throw new LegClosedError(this.describe());
    if (this.starting !== undefined) return this.starting;
    this.currentState = 'starting';
    this.starting = this.listen().then(
      () => {
        if (this.currentState === 'starting') this.currentState = 'listening';
      },
      (error: unknown) => {
        this.currentState = 'closed';
        throw error;
      },
    );
    return this.starting;
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const wasActive = this.currentState !== 'idle';
    this.currentState = 'closing';
    this.closing = (async () => {
      if (this.starting !== undefined) await this.starting.catch(() => undefined);
      if (wasActive) await this.shutdown();
      this.flushNotes();
      this.currentState = 'closed';
    })();
    return this.closing;
  }

  destroy(error?: Error): void {
    if (this.currentState === 'closed') return;
    const wasActive = this.currentState !== 'idle';
    this.currentState = 'closed';
    this.closing ??= Promise.resolve();
    if (wasActive) this.abort(error);
    if (error !== undefined) this.publishError('destroyed', error);
  }

  async send(message: SipMessage, destination?: Destination, options?: SendOptions): Promise<SendResult> {
    this.assertUsable();
    let target = destination;
    let connection = options?.connection;
    if (connection === undefined && target === undefined && !message.isRequest) {
      connection = this.connectionForResponse(message);
    }
    if (connection !== undefined && !connection.closed) target ??= { ...connection.remote };
    else connection = undefined;
    if (target === undefined) {
      if (message.isRequest) return failure('NO_DESTINATION', 503, 'no destination given for a request');
      const t = responseTargetOf(message);
      if (t.kind === 'invalid') return failure('NO_DESTINATION', 503, t.reason);
      if (t.kind === 'host') return failure('UNRESOLVED_HOST', 503, `Via sent-by ${t.host} needs DNS resolution`);
      target = t.destination;
    }
    if (!this.canDeliverTo(target)) {
      return failure(
        'TRANSPORT_MISMATCH',
        503,
        `${this.describe()} cannot deliver to ${target.transport} IPv${target.family} ${target.address}`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = serializeMessage(message);
    } catch (error) {
      return failure('SEND_FAILED', 503, 'message could not be serialized', error);
    }
    if (bytes.byteLength > this.maxMessageSize) {
      return failure('MESSAGE_TOO_LARGE', 513, `message of ${bytes.byteLength} bytes exceeds ${this.maxMessageSize}`);
    }
    const result = await this.transmit(bytes, target, connection);
    if (result.ok) {
      if (sendChannel.hasSubscribers) {
        sendChannel.publish({ leg: this, message, destination: target, bytes, connection: result.connection });
      }
    } else {
      this.publishError('send-failed', result, undefined, connection);
    }
    return result;
  }

  /** `udp 127.0.0.1:5060` — for messages. */
  describe(): string {
    return `${this.transport} leg ${hostPort(this.boundAddress, this.boundPort)}`;
  }

  // ---- hooks for transports -------------------------------------------------------------

  /** Bind/listen; set `boundPort`. */
  protected abstract listen(): Promise<void>;
  /** Graceful shutdown. */
  protected abstract shutdown(): Promise<void>;
  /** Abrupt shutdown. */
  protected abstract abort(error?: Error): void;
  /** Put bytes on the wire to `destination` (on `connection` when given). */
  protected abstract transmit(
    bytes: Uint8Array,
    destination: Destination,
    connection: LegConnection | undefined,
  ): Promise<SendResult>;
  /** Stream legs: the open connection the request of this response came on. */
  protected connectionForResponse(_response: SipMessage): LegConnection | undefined {
    return undefined;
  }
  /** Stream legs: remember which connection a request came on. */
  protected rememberRequest(_request: SipRequest, _connection: LegConnection): void {}

  protected assertUsable(): void {
    if (this.currentState === 'closing' || this.currentState === 'closed') throw new LegClosedError(this.describe());
    if (this.currentState !== 'listening') {
      throw new SipLegError('LEG_NOT_STARTED', `${this.describe()} is not started; call start() first`);
    }
  }

  protected get accepting(): boolean {
    return this.currentState === 'listening';
  }

  /**
   * Parse one message's bytes and hand it up. Requests get `received`/`rport` on the top Via
   * (RFC 3261 §18.2.1, RFC 3581 §4). Bad input is dropped with an error event, or answered
   * with 400 when it is a request that still names where to answer.
   */
  protected handleBytes(bytes: Uint8Array, source: Source, connection?: LegConnection): void {
    let message: SipMessage;
    try {
      message = parseMessage(bytes, { maxMessageSize: this.maxMessageSize });
      if (message.isRequest) this.stampRequest(message, source);
    } catch (error) {
      this.publishError('parse-failed', error, source, connection);
      // Anyone can send garbage at line rate: one line per source per interval, with a count.
      this.logger?.debug?.({ leg: this.describe(), source, error: String(error) }, 'dropped unparseable message');
      this.note('parse-failed', source.address, 'info', 'dropped unparseable messages', { source: source.address, port: source.port, error: String(error) });
      if (this.answerBadRequests) this.answerBadRequest(bytes, error, source, connection);
      return;
    }
    this.handleMessage(message, source, connection);
  }

  /** Hand a parsed (and stamped) message to the receiver. */
  protected handleMessage(message: SipMessage, source: Source, connection?: LegConnection): void {
    if (connection !== undefined && message.isRequest) this.rememberRequest(message, connection);
    if (receiveChannel.hasSubscribers) receiveChannel.publish({ leg: this, message, source, connection });
    const handler = this.onReceive;
    if (handler === undefined) return;
    try {
      handler(message, { source, leg: this, connection });
    } catch (error) {
      this.publishError('receiver-threw', error, source, connection);
      this.logger?.error?.({ leg: this.describe(), error: String(error) }, 'receive callback threw');
    }
  }

  protected stampRequest(request: SipRequest, source: Source): void {
    const raw = request.getHeader('via');
    if (raw === undefined) throw new Error('request without Via');
    let top: Via | undefined;
    try {
      // Parsed once and cached on the message, for the proxy's reads after this one.
      top = request.topVia;
    } catch {
      throw new Error('top Via is malformed');
    }
    const stamped = top === undefined ? undefined : stampVia(raw, source, top);
    if (stamped === undefined) {
      if (responseTarget(top).kind === 'invalid') throw new Error('top Via is malformed');
      return;
    }
    request.replaceHeaderValue('via', 0, stamped);
  }

  /**
   * A log line for an event a peer can trigger at will (bad input, refused connections): the
   * first per `kind` and `key` (usually the source address) is written at once, later ones are
   * counted and written as one line per interval (10 s) naming how many it stands for.
   */
  protected note(kind: string, key: string, level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown>): void {
    const logger = this.logger;
    if (logger === undefined) return;
    this.sampler ??= new LogSampler((key, count, sample, first) => {
      const { message: text, level: lvl, ...fields } = sample as { message: string; level: 'info' | 'warn' | 'error' } & Record<string, unknown>;
      // Past the per-interval key budget, many sources share one line: the sample's own is not the point.
      if (key === OVERFLOW_KEY) fields.source = 'various';
      const line = first ? text : `${text} (${count} more in the last ${LOG_SAMPLE_INTERVAL_MS / 1000} s or less)`;
      const write = logger[lvl] ?? logger.warn;
      write?.call(logger, { ...fields, count }, line);
    });
    this.sampler.hit(`${kind}|${key}`, { message, level, leg: this.describe(), kind, ...data });
  }

  /** Write the sampled counts still pending (on close). */
  protected flushNotes(): void {
    this.sampler?.flush();
  }

  protected publishError(kind: string, error: unknown, source?: Source, connection?: LegConnection): void {
    if (errorChannel.hasSubscribers) errorChannel.publish({ leg: this, kind, error, source, connection });
  }

  private answerBadRequest(bytes: Uint8Array, error: unknown, source: Source, connection?: LegConnection): void {
    const request = parseHeadOnly(bytes);
    if (request === undefined || request.method === 'ACK') return;
    let response: SipMessage;
    try {
      if (request.callId === undefined || request.cseq === undefined || request.from === undefined) return;
      if (request.to === undefined) return;
      this.stampRequest(request, source);
      const text = (error instanceof Error ? error.message : String(error)).replace(/["\\\r\n]/g, ' ').slice(0, 200);
      response = createResponse(request, 400, 'Bad Request', { headers: [['Warning', `399 ${this.sentBy} "${text}"`]] });
    } catch {
      return;
    }
    if (!this.accepting) return;
    void this.send(response, undefined, connection === undefined ? undefined : { connection });
  }
}

/**
 * Re-parse only the start line and headers, without Content-Length, so a request whose body
 * broke parsing can still be answered (RFC 3261 §18.3: a bad Content-Length gets a 400).
 */
function parseHeadOnly(bytes: Uint8Array): SipRequest | undefined {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (/^SIP\//i.test(text)) return undefined;
  let end = text.indexOf('\r\n\r\n');
  if (end < 0) end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split(/\r?\n/).filter((line) => !/^(content-length|l)\s*:/i.test(line));
  try {
    const parsed = parseMessage(`${lines.join('\r\n')}\r\n\r\n`);
    return parsed.isRequest ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A failure value. The reason phrase is fixed per status — error text (OpenSSL messages with
 * file paths, addresses) goes to `detail` only, so a peer never learns internals from it.
 */
export function failure(code: SendFailureCode, status: number, detail: string, cause?: unknown): SendFailure {
  const reason = REASON_PHRASES[status] ?? (status >= 500 ? 'Service Unavailable' : 'Request Failed');
  return cause === undefined ? { ok: false, status, reason, detail, code } : { ok: false, status, reason, detail, code, cause };
}

