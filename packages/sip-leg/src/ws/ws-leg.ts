import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { isUtf8 } from 'node:buffer';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { SipMessage, SipRequest } from '@sipway/sip-message';
import { canonicalAddress, hostPort, ipFamily, isWildcard } from '../address.js';
import type { Destination } from '../destination.js';
import { LegOptionsError, LegStartError } from '../errors.js';
import { BaseLeg, failure } from '../leg.js';
import type { BaseLegOptions, FlowLegOptions, LegConnection, SendOptions, SendResult, Source } from '../leg.js';
import { ConnectionTable } from '../stream/connection-table.js';
import type { Slot } from '../stream/connection-limiter.js';
import { isFdExhausted, SocketGuard } from '../stream/socket-guard.js';
import type { Socket } from 'node:net';
import { FlowPin } from '../stream/flow-pins.js';
import { defaultPort } from '../destination.js';

/** Options of {@link WsLeg}. */
export interface WsLegOptions extends BaseLegOptions, FlowLegOptions {
  /** WebSocket over TLS (`wss`, transport `WSS` in Via). Needs certFile and keyFile. Default false. */
  secure?: boolean | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** CA trusted for outgoing wss connections. */
  caFile?: string | undefined;
  /** Check the peer certificate on outgoing wss connections (default true). */
  rejectUnauthorized?: boolean | undefined;
  /** Only accept handshakes whose `Origin` is in this list (RFC 7118 §7, RFC 6455 §10.2). Default: any. */
  allowedOrigins?: readonly string[] | undefined;
  /** Only accept handshakes on this request path (default: any path). Outgoing connections use it too (default `/`). */
  path?: string | undefined;
  /** Close a connection with no traffic for this long (default 120 000 ms; 0 = never; a registered flow stays, see `keepRegisteredFlows`). */
  idleTimeoutMs?: number | undefined;
  /**
   * Most open sockets (default 1024), counted from the TCP accept: a connection still in its TLS
   * handshake or before its WebSocket upgrade holds a slot. When reached, the connection idle
   * longest (≥ 10 s) is closed to make room; when none is, the handshake is refused.
   */
  maxConnections?: number | undefined;
  /** Most inbound sockets per source address, IPv6 per `sourcePrefixV6` (default 32; 0 = no limit). */
  maxConnectionsPerSource?: number | undefined;
  /** IPv6 sources share a per-source limit per prefix of this length (default 64). */
  sourcePrefixV6?: number | undefined;
  /** At `maxConnections`, a connection idle at least this long may be closed to admit a new one (default 10 000 ms). */
  evictIdleMs?: number | undefined;
  /** TLS handshake (wss) and HTTP upgrade must be done this long after the TCP accept (default 10 000 ms); bytes do not extend it. */
  handshakeTimeoutMs?: number | undefined;
  /** Most bytes waiting to be sent per connection before sends fail (default 1 MiB). */
  maxBufferedBytes?: number | undefined;
  /** Give up an outgoing handshake after this long (default 10 000 ms). */
  connectTimeoutMs?: number | undefined;
}

const SUBPROTOCOL = 'sip';
let nextId = 0;

/** One WebSocket connection of a {@link WsLeg}. */
export class WsConnection implements LegConnection {
  readonly id = `w${++nextId}`;
  idleTimer: NodeJS.Timeout | undefined;
  /** Set by the leg: keeps a registered flow open while idle. */
  pin: FlowPin | undefined;
  constructor(
    readonly transport: 'ws' | 'wss',
    readonly socket: WebSocket,
    readonly remote: Source,
    readonly local: { address: string; port: number },
    readonly direction: 'inbound' | 'outbound',
  ) {}
  get closed(): boolean {
    return this.socket.readyState !== WebSocket.OPEN;
  }
  keepOpenUntil(epochMs: number): void {
    this.pin?.keepOpenUntil(epochMs);
  }
  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000);
      setTimeout(() => this.socket.terminate(), 2000).unref();
    }
  }
  /** One SIP message per WebSocket message; text frames when the bytes are UTF-8 (RFC 7118 §5.1). */
  write(bytes: Uint8Array): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.socket.send(bytes, { binary: !isUtf8(bytes) }, (error) => resolve(error ?? undefined));
    });
  }
}

/**
 * SIP over WebSocket (ws and wss): the `sip` subprotocol is required, an optional Origin
 * allow-list guards browsers' cross-site use, and one WebSocket message carries one SIP message.
 * A request to a browser can only go over the connection the browser opened.
 *
 * @see RFC 7118 (SIP over WebSocket), RFC 6455 (WebSocket)
 */
export class WsLeg extends BaseLeg {
  readonly transport: 'ws' | 'wss';
  private http: HttpServer | HttpsServer | undefined;
  private wss: WebSocketServer | undefined;
  private readonly table = new ConnectionTable<WsConnection>();
  private readonly options: WsLegOptions;
  private tlsOptions: SecureContextOptions | undefined;
  /** Connection admission: limits, upgrade deadline, out-of-descriptor recovery. */
  protected readonly guard: SocketGuard;

  constructor(options: WsLegOptions = {}) {
    super(options, defaultPort(options.secure ? 'wss' : 'ws'));
    this.transport = options.secure ? 'wss' : 'ws';
    if (options.secure && (!options.certFile || !options.keyFile)) {
      throw new LegOptionsError('a secure WebSocket leg needs certFile and keyFile');
    }
    if (options.path !== undefined && !options.path.startsWith('/')) throw new LegOptionsError('path must start with /');
    this.options = options;
    this.guard = new SocketGuard({
      maxConnections: options.maxConnections ?? 1024,
      maxConnectionsPerSource: options.maxConnectionsPerSource ?? 32,
      sourcePrefixV6: options.sourcePrefixV6 ?? 64,
      evictIdleMs: options.evictIdleMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      leg: this,
      publish: (kind, error, source, connection) => this.publishError(kind, error, source, connection),
      note: (kind, key, level, message, data) => this.note(kind, key, level, message, data),
      canEvict: (connection) => this.evictable(connection),
      // Plain ws: tell the browser why (a wss socket has no TLS yet to say it over).
      refuse: (raw) => {
        if (this.transport === 'wss') return void raw.destroy();
        // Released as soon as the answer is written: a refused socket must not hold a descriptor.
        raw.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => raw.destroy());
      },
    });
  }

  /** May this connection be closed to make room or free descriptors? Every idle one may, by default. */
  protected evictable(connection: LegConnection): boolean {
    // A registered flow is the only way to reach its client (RFC 5626 §5.2): a stranger filling
    // the slots must not push it out.
    return (connection as { pin?: FlowPin }).pin?.held !== true;
  }

  /** Sockets counted against the limits (before and after the upgrade, outbound too). */
  get slotsInUse(): number {
    return this.guard.limiter.size;
  }

  /** Open connections. */
  get connections(): readonly LegConnection[] {
    return this.table.connections();
  }

  /** The open connection to or from this peer, newest first (RFC 7118 §5, RFC 5626 §5.3: a registered flow). */
  connectionTo(address: string, port: number): LegConnection | undefined {
    return this.table.toPeer(address, port);
  }

  /** wss: re-read certificate and key files for new connections (throws and keeps the old ones on error). */
  reload(): void {
    if (!this.options.secure) return;
    const options: SecureContextOptions = {
      cert: readFileSync(this.options.certFile ?? ''),
      key: readFileSync(this.options.keyFile ?? ''),
      ...(this.options.caFile ? { ca: readFileSync(this.options.caFile) } : {}),
    };
    createSecureContext(options); // validate first
    this.tlsOptions = options;
    (this.http as HttpsServer | undefined)?.setSecureContext?.(options);
  }

  protected listen(): Promise<void> {
    if (this.options.secure) this.reload();
    const onRequest = (_req: IncomingMessage, res: import('node:http').ServerResponse): void => {
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    };
    const http = this.options.secure ? createHttpsServer(this.tlsOptions ?? {}, onRequest) : createHttpServer(onRequest);
    this.http = http;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxMessageSize,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    // Counted from the TCP accept: a socket that never upgrades holds a slot until the deadline.
    http.prependListener('connection', (raw: Socket) => {
      if (!this.accepting) raw.destroy();
      else this.guard.admit(raw, true);
    });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new LegStartError(this.describe(), error));
      http.once('error', onError);
      http.listen({ host: this.address, port: this.port, ipv6Only: this.family === 6, exclusive: true }, () => {
        http.off('error', onError);
        http.on('error', (error) => {
          if (isFdExhausted(error)) this.guard.fdExhausted('accept', error);
          else this.publishError('server-error', error);
        });
        const info = http.address();
        if (info !== null && typeof info === 'object') this.boundPort = info.port;
        resolve();
      });
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Refused at the TCP accept (and answered there) or evicted meanwhile: nothing more to say.
    const slot = this.guard.slotOf(req.socket);
    if (slot === undefined || slot.released || socket.writableEnded) {
      if (!socket.writableEnded) socket.destroy();
      return;
    }
    const reject = (status: number, reason: string): void => {
      this.publishError('handshake-rejected', new Error(`${status} ${reason}`));
      const from = canonicalAddress(req.socket.remoteAddress ?? '');
      this.note('handshake-rejected', from, 'info', 'WebSocket handshake refused', { source: from, status });
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const wss = this.wss;
    if (wss === undefined || !this.accepting) return reject(503, 'Service Unavailable');
    const path = (req.url ?? '/').split('?')[0];
    if (this.options.path !== undefined && path !== this.options.path) return reject(404, 'Not Found');
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim().toLowerCase());
    // RFC 7118 §4.1: the client offers "sip"; a server that does not get it must not complete the handshake.
    if (!offered.includes(SUBPROTOCOL)) return reject(400, 'Bad Request');
    const allowed = this.options.allowedOrigins;
    if (allowed !== undefined && !allowed.includes(req.headers.origin ?? '')) return reject(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const address = canonicalAddress(req.socket.remoteAddress ?? '');
      const remote: Source = { transport: this.transport, address, port: req.socket.remotePort ?? 0, family: ipFamily(address) ?? this.family };
      this.adopt(ws, remote, 'inbound', req.socket.localPort ?? this.port, slot);
    });
  }

  private adopt(ws: WebSocket, remote: Source, direction: 'inbound' | 'outbound', localPort: number, slot: Slot): WsConnection {
    const connection = new WsConnection(this.transport, ws, remote, { address: this.address, port: localPort }, direction);
    connection.pin = new FlowPin(this.options.keepRegisteredFlows ?? true);
    this.table.add(connection);
    this.guard.opened(slot, connection);
    const idle = this.options.idleTimeoutMs ?? 120_000;
    if (idle > 0) {
      connection.idleTimer = setTimeout(() => {
        // A registered flow stays while its binding lives (RFC 5626 §5.2); re-arm instead.
        if (connection.pin?.held === true) return void connection.idleTimer?.refresh();
        this.publishError('idle-timeout', new Error('connection idle'), remote, connection);
        connection.close();
      }, idle);
      connection.idleTimer.unref();
    }
    ws.on('message', (data: RawData) => {
      connection.idleTimer?.refresh();
      slot.lastActivity = Date.now();
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.onMessage(connection, bytes);
    });
    const touch = (): void => {
      connection.idleTimer?.refresh();
      slot.lastActivity = Date.now();
    };
    ws.on('pong', touch);
    ws.on('ping', touch);
    ws.on('error', (error) => this.publishError('connection-error', error, remote, connection));
    ws.on('close', () => {
      clearTimeout(connection.idleTimer);
      this.guard.release(slot);
      this.table.remove(connection);
      this.onConnectionClose?.(connection);
    });
    return connection;
  }

  private onMessage(connection: WsConnection, bytes: Buffer): void {
    if (!this.accepting) return;
    // Some clients (JsSIP) send the RFC 5626 CRLF keep-alive as a WebSocket message.
    if (bytes.length <= 4 && /^(\r\n)+$/.test(bytes.toString('latin1'))) {
      if (bytes.length === 4) void connection.write(Buffer.from('\r\n'));
      return;
    }
    this.handleBytes(bytes, connection.remote, connection);
  }

  protected override rememberRequest(request: SipRequest, connection: LegConnection): void {
    this.table.rememberRequest(request, connection as WsConnection);
  }

  protected override connectionForResponse(response: SipMessage): LegConnection | undefined {
    return this.table.forResponse(response);
  }

  override async send(message: SipMessage, destination?: Destination, options?: SendOptions): Promise<SendResult> {
    this.assertUsable();
    // A response can only go back over a WebSocket: a browser accepts no connections.
    if (!message.isRequest && destination === undefined && options?.connection === undefined) {
      const connection = this.connectionForResponse(message);
      if (connection === undefined) return failure('NO_CONNECTION', 503, 'the WebSocket connection of the request is gone');
      return super.send(message, undefined, { connection });
    }
    return super.send(message, destination, options);
  }

  protected async transmit(bytes: Uint8Array, destination: Destination, given: LegConnection | undefined): Promise<SendResult> {
    let connection = given as WsConnection | undefined;
    if (connection === undefined || connection.closed) connection = this.table.toPeer(destination.address, destination.port);
    if (connection === undefined) {
      const opened = await this.connect(destination);
      if (!(opened instanceof WsConnection)) return opened;
      connection = opened;
    }
    const limit = this.options.maxBufferedBytes ?? 1024 * 1024;
    if (connection.socket.bufferedAmount > limit) return failure('BUFFER_FULL', 503, `more than ${limit} bytes waiting on ${connection.id}`);
    const error = await connection.write(bytes);
    if (error !== undefined) return failure('SEND_FAILED', 503, `WebSocket send failed: ${error.message}`, error);
    return { ok: true, destination, connection };
  }

  private connect(destination: Destination): Promise<WsConnection | SendResult> {
    let opening: WebSocket | undefined;
    const slot = this.guard.reserve(() => opening?.terminate());
    if (slot === undefined) {
      return Promise.resolve(failure('TOO_MANY_CONNECTIONS', 503, 'connection limit reached'));
    }
    const scheme = this.transport;
    const url = `${scheme}://${hostPort(destination.hostname ?? destination.address, destination.port)}${this.options.path ?? '/'}`;
    const timeout = this.options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve) => {
      const ws = new WebSocket(url, SUBPROTOCOL, {
        handshakeTimeout: timeout,
        perMessageDeflate: false,
        maxPayload: this.maxMessageSize,
        ...(isWildcard(this.address) ? {} : { localAddress: this.address }),
        ...(this.tlsOptions?.ca ? { ca: this.tlsOptions.ca } : {}),
        rejectUnauthorized: this.options.rejectUnauthorized ?? true,
      });
      opening = ws;
      // Details (URL, OpenSSL errors) go to the log; the failure's reason phrase is fixed.
      const fail = (code: 'CONNECT_FAILED' | 'CONNECT_TIMEOUT', detail: string, cause?: unknown): void => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        this.guard.release(slot);
        if (cause !== undefined && isFdExhausted(cause)) this.guard.fdExhausted('connect', cause);
        this.logger?.debug?.({ leg: this.describe(), destination: url, code, detail }, 'outgoing connection failed');
        this.note('connect-failed', code, 'warn', 'outgoing connection failed', { destination: url, code, detail });
        resolve(failure(code, code === 'CONNECT_TIMEOUT' ? 408 : 503, detail, cause));
      };
      ws.once('open', () => {
        ws.removeAllListeners();
        if (ws.protocol !== SUBPROTOCOL) return fail('CONNECT_FAILED', `${url} did not accept the sip subprotocol`);
        if (!this.accepting) return fail('CONNECT_FAILED', 'leg closed while connecting');
        const remote: Source = { transport: this.transport, address: destination.address, port: destination.port, family: destination.family };
        const localPort = (ws as unknown as { _socket?: { localPort?: number } })._socket?.localPort ?? 0;
        resolve(this.adopt(ws, remote, 'outbound', localPort, slot));
      });
      ws.once('error', (error: Error) => {
        const timedOut = /timed out/i.test(error.message);
        fail(timedOut ? 'CONNECT_TIMEOUT' : 'CONNECT_FAILED', `WebSocket connect to ${url} failed: ${error.message}`, error);
      });
      ws.once('unexpected-response', (_req, res) => fail('CONNECT_FAILED', `${url} answered HTTP ${res.statusCode}`));
    });
  }

  protected async shutdown(): Promise<void> {
    const http = this.http;
    this.http = undefined;
    await Promise.all(
      this.table.connections().map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.socket.readyState === WebSocket.CLOSED) return resolve();
            c.socket.once('close', () => resolve());
            c.close();
          }),
      ),
    );
    this.wss?.close();
    if (http !== undefined) {
      http.closeAllConnections?.();
      await new Promise<void>((r) => http.close(() => r()));
    }
  }

  protected abort(): void {
    for (const c of this.table.connections()) c.socket.terminate();
    this.wss?.close();
    this.http?.closeAllConnections?.();
    this.http?.close();
    this.http = undefined;
  }
}
