import type { Server, Socket } from 'node:net';
import { StreamFramer } from '@sipway/sip-message';
import type { SipMessage, SipRequest } from '@sipway/sip-message';
import { canonicalAddress, hostPort, ipFamily } from '../address.js';
import type { Destination } from '../destination.js';
import { LegStartError } from '../errors.js';
import { BaseLeg, failure } from '../leg.js';
import type { BaseLegOptions, FlowLegOptions, LegConnection, SendFailure, SendResult, Source } from '../leg.js';
import { ConnectionTable } from './connection-table.js';
import type { Slot } from './connection-limiter.js';
import { isFdExhausted, SocketGuard } from './socket-guard.js';
import { FlowPin } from './flow-pins.js';

/** Options shared by the TCP and TLS legs. */
export interface StreamLegOptions extends BaseLegOptions, FlowLegOptions {
  /** Close a connection with no traffic for this long (default 120 000 ms; 0 = never; a registered flow stays, see `keepRegisteredFlows`). */
  idleTimeoutMs?: number | undefined;
  /**
   * Most open connections, inbound (from the TCP accept, TLS handshakes included) plus outbound
   * (default 1024). When reached, the connection idle longest (≥ 10 s) is closed to make room;
   * when none is, the new one is refused.
   */
  maxConnections?: number | undefined;
  /** Most inbound connections per source address, IPv6 per `sourcePrefixV6` (default 32; 0 = no limit). */
  maxConnectionsPerSource?: number | undefined;
  /** IPv6 sources share a per-source limit per prefix of this length (default 64). */
  sourcePrefixV6?: number | undefined;
  /** At `maxConnections`, a connection idle at least this long may be closed to admit a new one (default 10 000 ms). */
  evictIdleMs?: number | undefined;
  /**
   * A message must be complete this long after its first byte arrived (default 20 000 ms, as
   * Kamailio's tcp_msg_read_timeout; 0 = no deadline). Later bytes do not extend it, so a header
   * dripped a byte at a time cannot hold a connection.
   */
  messageTimeoutMs?: number | undefined;
  /** TLS: the handshake must finish this long after the TCP accept (default 10 000 ms); bytes do not extend it. */
  handshakeTimeoutMs?: number | undefined;
  /** Most unframed input or unsent output per connection before it is closed / sends fail (default 1 MiB). */
  maxBufferedBytes?: number | undefined;
  /** Give up an outgoing connect after this long (default 10 000 ms, as Net::SIP). */
  connectTimeoutMs?: number | undefined;
  /** Largest header section the framer accepts (default 16 KiB, as Net::SIP). */
  maxHeaderSize?: number | undefined;
}

/** How long a graceful close waits for peers before destroying connections. */
const CLOSE_GRACE_MS = 2000;

let nextConnectionId = 0;

/** One TCP or TLS connection of a {@link StreamLeg}. */
export class StreamConnection implements LegConnection {
  readonly id = `c${++nextConnectionId}`;
  readonly framer: StreamFramer;
  /** Message deadline (RFC 3261 §18.3 framing under a time bound). */
  messageTimer: NodeJS.Timeout | undefined;
  /** Set by the leg: keeps a registered flow open while idle. */
  pin: FlowPin | undefined;
  /** What the framer holds is only CR/LF (a keep-alive it waits to complete), not a message. */
  lineEndsPending = false;
  private ended = false;
  constructor(
    readonly transport: LegConnection['transport'],
    readonly socket: Socket,
    readonly remote: Source,
    readonly local: { address: string; port: number },
    readonly direction: 'inbound' | 'outbound',
    framerOptions: { maxMessageSize: number; maxHeaderSize: number },
  ) {
    this.framer = new StreamFramer(framerOptions);
  }
  get closed(): boolean {
    return this.ended || this.socket.destroyed || !this.socket.writable;
  }
  keepOpenUntil(epochMs: number): void {
    this.pin?.keepOpenUntil(epochMs);
  }
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
  write(bytes: Uint8Array): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.socket.write(bytes, (error) => resolve(error ?? undefined));
    });
  }
}

/**
 * Base of the TCP and TLS legs: listening server, framing with the sip-message
 * {@link StreamFramer}, CRLF keep-alive, connection reuse, idle timeout and limits.
 *
 * @see RFC 3261 §18.3 (framing), §18.2.2 (responses on the request's connection)
 * @see RFC 5626 §4.4.1 (CRLF keep-alive: a double CRLF ping is answered by a single CRLF pong)
 */
export abstract class StreamLeg extends BaseLeg {
  protected server: Server | undefined;
  protected readonly table = new ConnectionTable<StreamConnection>();
  private readonly pending = new Map<string, Promise<StreamConnection | SendFailure>>();
  protected readonly idleTimeoutMs: number;
  protected readonly maxConnections: number;
  protected readonly maxBufferedBytes: number;
  protected readonly connectTimeoutMs: number;
  protected readonly maxHeaderSize: number;
  protected readonly messageTimeoutMs: number;
  protected readonly handshakeTimeoutMs: number;
  /** Connection admission: limits, handshake deadline, out-of-descriptor recovery. */
  protected readonly guard: SocketGuard;
  protected readonly keepRegisteredFlows: boolean;

  constructor(options: StreamLegOptions, defaultListenPort: number) {
    super(options, defaultListenPort);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.maxConnections = options.maxConnections ?? 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.maxHeaderSize = options.maxHeaderSize ?? 16 * 1024;
    this.messageTimeoutMs = options.messageTimeoutMs ?? 20_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.keepRegisteredFlows = options.keepRegisteredFlows ?? true;
    this.guard = new SocketGuard({
      maxConnections: this.maxConnections,
      maxConnectionsPerSource: options.maxConnectionsPerSource ?? 32,
      sourcePrefixV6: options.sourcePrefixV6 ?? 64,
      evictIdleMs: options.evictIdleMs,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      leg: this,
      publish: (kind, error, source, connection) => this.publishError(kind, error, source, connection),
      note: (kind, key, level, message, data) => this.note(kind, key, level, message, data),
      canEvict: (connection) => this.evictable(connection),
    });
  }

  /**
   * May this connection be closed to make room for a new one, or to free descriptors? Every
   * idle connection may, by default; a subclass or a flow keeper can protect some.
   */
  protected evictable(connection: LegConnection): boolean {
    // A registered flow is the only way to reach its client (RFC 5626 §5.2): a stranger filling
    // the slots must not push it out.
    return (connection as { pin?: FlowPin }).pin?.held !== true;
  }

  /** Sockets counted against the limits (inbound in any stage, outbound, connects in progress). */
  get slotsInUse(): number {
    return this.guard.limiter.size;
  }

  /** Open connections (inbound and outbound). */
  get connections(): readonly LegConnection[] {
    return this.table.connections();
  }

  /** The open connection to or from this peer, newest first (RFC 5626 §5.3: a registered flow). */
  connectionTo(address: string, port: number): LegConnection | undefined {
    return this.table.toPeer(address, port);
  }

  /** Create the listening server; call `accept(socket)` for every established connection. */
  protected abstract createServer(accept: (socket: Socket) => void): Server;
  /** Start an outgoing connection; resolve when it is ready to carry SIP (after the TLS handshake). */
  protected abstract openSocket(destination: Destination): { socket: Socket; readyEvent: 'connect' | 'secureConnect' };

  protected listen(): Promise<void> {
    const server = this.createServer((socket) => this.accept(socket));
    this.server = server;
    // Counted from the TCP accept, before a TLS handshake: a socket that never finishes one holds a slot too.
    server.prependListener('connection', (raw: Socket) => {
      if (!this.accepting) raw.destroy();
      else this.guard.admit(raw, this.transport === 'tls');
    });
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new LegStartError(this.describe(), error));
      server.once('error', onError);
      server.listen({ host: this.address, port: this.port, ipv6Only: this.family === 6, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (error) => {
          if (isFdExhausted(error)) this.guard.fdExhausted('accept', error);
          else this.publishError('server-error', error);
        });
        const info = server.address();
        if (info !== null && typeof info === 'object') this.boundPort = info.port;
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    const slot = this.guard.slotOf(socket);
    if (!this.accepting || slot === undefined || slot.released || socket.destroyed) {
      socket.destroy();
      return;
    }
    const address = canonicalAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    const remote: Source = { transport: this.transport, address, port, family: ipFamily(address) ?? this.family };
    this.adopt(socket, remote, 'inbound', slot);
  }

  protected adopt(socket: Socket, remote: Source, direction: 'inbound' | 'outbound', slot: Slot): StreamConnection {
    const connection = new StreamConnection(
      this.transport,
      socket,
      remote,
      { address: this.address, port: socket.localPort ?? this.port },
      direction,
      { maxMessageSize: this.maxMessageSize, maxHeaderSize: this.maxHeaderSize },
    );
    connection.pin = new FlowPin(this.keepRegisteredFlows);
    this.table.add(connection);
    this.guard.opened(slot, connection);
    socket.setNoDelay(true);
    if (this.idleTimeoutMs > 0) {
      // Node registers the callback with once(): a re-armed timer needs it again.
      const onIdle = (): void => {
        // A registered flow stays while its binding lives (RFC 5626 §5.2); re-arm instead.
        if (connection.pin?.held === true) return void socket.setTimeout(this.idleTimeoutMs, onIdle);
        this.publishError('idle-timeout', new Error('connection idle'), remote, connection);
        connection.close();
      };
      socket.setTimeout(this.idleTimeoutMs, onIdle);
    }
    socket.on('data', (chunk: Buffer) => {
      slot.lastActivity = Date.now();
      this.onData(connection, chunk);
    });
    socket.on('error', (error) => this.publishError('connection-error', error, remote, connection));
    socket.on('close', () => {
      clearTimeout(connection.messageTimer);
      this.guard.release(slot);
      this.table.remove(connection);
      this.onConnectionClose?.(connection);
    });
    return connection;
  }

  private onData(connection: StreamConnection, chunk: Buffer): void {
    if (connection.closed) return;
    const events = connection.framer.push(chunk);
    let completed = false;
    for (const event of events) {
      if (event.type === 'message') {
        completed = true;
        if (this.accepting) this.handleBytes(event.bytes, connection.remote, connection);
      } else if (event.type === 'ping') {
        // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong; never handed to the parser.
        connection.socket.write('\r\n');
      } else if (event.type === 'error') {
        // RFC 3261 §18.3: framing is lost, so this connection cannot be trusted any more.
        this.publishError('framing-lost', event.error, connection.remote, connection);
        this.note('framing-lost', connection.remote.address, 'info', 'connection closed: framing lost', { source: connection.remote.address, error: String(event.error) });
        connection.socket.destroy();
        return;
      }
    }
    if (connection.framer.bufferedBytes > this.maxBufferedBytes) {
      this.publishError('buffer-limit', new Error(`more than ${this.maxBufferedBytes} unframed bytes`), connection.remote, connection);
      this.note('buffer-limit', connection.remote.address, 'info', 'connection closed: unframed input over the limit', { source: connection.remote.address, limit: this.maxBufferedBytes });
      connection.socket.destroy();
      return;
    }
    this.messageDeadline(connection, completed, chunk);
  }

  /**
   * The clock of a message starts with its first byte and is not reset by later ones: a message
   * still incomplete at the deadline closes the connection. A chunk that completed a message and
   * began another starts a new clock.
   */
  private messageDeadline(connection: StreamConnection, completed: boolean, chunk: Buffer): void {
    if (this.messageTimeoutMs <= 0) return;
    // A lone CRLF (a keep-alive, RFC 5626 §4.4.1 / RFC 3261 §7.5) stays in the framer until the
    // next bytes tell a pong from half a ping: it is no message, so it starts no clock.
    const held = connection.framer.bufferedBytes;
    let lineEnds = false;
    if (held > 0 && held <= 3) {
      lineEnds = held <= chunk.length ? onlyLineEnds(chunk, chunk.length - held) : connection.lineEndsPending && onlyLineEnds(chunk, 0);
    }
    connection.lineEndsPending = lineEnds;
    const partial = held > 0 && !lineEnds;
    if (!partial) {
      clearTimeout(connection.messageTimer);
      connection.messageTimer = undefined;
      return;
    }
    if (connection.messageTimer !== undefined) {
      // A new message began in this chunk: its clock starts now (refresh re-arms the same timer).
      if (completed) connection.messageTimer.refresh();
      return;
    }
    connection.messageTimer = setTimeout(() => {
      connection.messageTimer = undefined;
      if (connection.closed || connection.framer.bufferedBytes === 0) return;
      const error = new Error(`message not complete within ${this.messageTimeoutMs} ms of its first byte`);
      this.publishError('message-timeout', error, connection.remote, connection);
      this.note('message-timeout', connection.remote.address, 'info', 'connection closed: message deadline passed', {
        source: connection.remote.address,
        deadlineMs: this.messageTimeoutMs,
        buffered: connection.framer.bufferedBytes,
      });
      connection.socket.destroy();
    }, this.messageTimeoutMs);
    connection.messageTimer.unref();
  }

  protected override rememberRequest(request: SipRequest, connection: LegConnection): void {
    this.table.rememberRequest(request, connection as StreamConnection);
  }

  protected override connectionForResponse(response: SipMessage): LegConnection | undefined {
    return this.table.forResponse(response);
  }

  protected async transmit(
    bytes: Uint8Array,
    destination: Destination,
    given: LegConnection | undefined,
  ): Promise<SendResult> {
    let connection = given as StreamConnection | undefined;
    if (connection === undefined || connection.closed) {
      connection = this.table.toPeer(destination.address, destination.port);
    }
    if (connection === undefined) {
      const opened = await this.connect(destination);
      if (!(opened instanceof StreamConnection)) return opened;
      connection = opened;
    }
    if (connection.socket.writableLength > this.maxBufferedBytes) {
      return failure('BUFFER_FULL', 503, `more than ${this.maxBufferedBytes} bytes waiting on ${connection.id}`);
    }
    const slot = this.guard.slotOf(connection.socket);
    if (slot !== undefined) slot.lastActivity = Date.now();
    const error = await connection.write(bytes);
    if (error !== undefined) return failure('SEND_FAILED', 503, `write failed: ${error.message}`, error);
    return { ok: true, destination, connection };
  }

  /** One connect per peer at a time; concurrent sends share it. */
  private connect(destination: Destination): Promise<StreamConnection | SendFailure> {
    const key = `${destination.address}|${destination.port}`;
    const running = this.pending.get(key);
    if (running !== undefined) return running;
    const attempt = this.doConnect(destination).finally(() => this.pending.delete(key));
    this.pending.set(key, attempt);
    return attempt;
  }

  private doConnect(destination: Destination): Promise<StreamConnection | SendFailure> {
    let socket: Socket | undefined;
    const slot = this.guard.reserve(() => socket?.destroy());
    if (slot === undefined) {
      return Promise.resolve(failure('TOO_MANY_CONNECTIONS', 503, `connection limit ${this.maxConnections} reached`));
    }
    const target = hostPort(destination.address, destination.port);
    return new Promise((resolve) => {
      // Details (OpenSSL errors with file paths, addresses) go to the log; the failure's reason phrase is fixed.
      const fail = (code: 'CONNECT_FAILED' | 'CONNECT_TIMEOUT', detail: string, error?: unknown): void => {
        this.guard.release(slot);
        if (error !== undefined && isFdExhausted(error)) this.guard.fdExhausted('connect', error);
        // Per code, not per destination: whoever picks destinations must not pick the number of lines.
        this.logger?.debug?.({ leg: this.describe(), destination: target, code, detail }, 'outgoing connection failed');
        this.note('connect-failed', code, 'warn', 'outgoing connection failed', { destination: target, code, detail });
        resolve(failure(code, code === 'CONNECT_TIMEOUT' ? 408 : 503, detail, error));
      };
      let readyEvent: 'connect' | 'secureConnect';
      let opened: Socket;
      try {
        ({ socket: opened, readyEvent } = this.openSocket(destination));
        socket = opened;
      } catch (error) {
        fail('CONNECT_FAILED', `connect to ${target} failed: ${String(error)}`, error);
        return;
      }
      const timer = setTimeout(() => {
        cleanup();
        opened.destroy();
        fail('CONNECT_TIMEOUT', `connect to ${target} timed out after ${this.connectTimeoutMs} ms`);
      }, this.connectTimeoutMs);
      const onError = (error: Error): void => {
        cleanup();
        opened.destroy();
        fail('CONNECT_FAILED', `connect to ${target} failed: ${error.message}`, error);
      };
      const onReady = (): void => {
        cleanup();
        if (!this.accepting || slot.released) {
          opened.destroy();
          this.guard.release(slot);
          resolve(failure('CONNECT_FAILED', 503, 'leg closed while connecting'));
          return;
        }
        const remote: Source = {
          transport: this.transport,
          address: destination.address,
          port: destination.port,
          family: destination.family,
        };
        resolve(this.adopt(opened, remote, 'outbound', slot));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        opened.off('error', onError);
        opened.off(readyEvent, onReady);
      };
      opened.once('error', onError);
      opened.once(readyEvent, onReady);
    });
  }

  protected async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((r) => server.close(() => r()));
    const connections = this.table.connections();
    await Promise.all(
      connections.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.socket.destroyed) return resolve();
            c.socket.once('close', () => resolve());
            c.close();
          }),
      ),
    );
    await closed;
  }

  protected abort(): void {
    this.server?.close();
    this.server = undefined;
    for (const c of this.table.connections()) c.socket.destroy();
  }
}

function onlyLineEnds(bytes: Buffer, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 13 && bytes[i] !== 10) return false;
  return true;
}
