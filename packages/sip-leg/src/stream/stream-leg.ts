import type { Server, Socket } from 'node:net';
import { StreamFramer } from '@sipway/sip-message';
import type { SipMessage, SipRequest } from '@sipway/sip-message';
import { canonicalAddress, hostPort, ipFamily } from '../address.js';
import type { Destination } from '../destination.js';
import { LegStartError } from '../errors.js';
import { BaseLeg, failure } from '../leg.js';
import type { BaseLegOptions, FlowLegOptions, LegConnection, SendFailure, SendResult, Source } from '../leg.js';
import { ConnectionTable } from './connection-table.js';
import { FlowPin } from './flow-pins.js';

/** Options shared by the TCP and TLS legs. */
export interface StreamLegOptions extends BaseLegOptions, FlowLegOptions {
  /** Close a connection with no traffic for this long (default 120 000 ms; 0 = never; a registered flow stays, see `keepRegisteredFlows`). */
  idleTimeoutMs?: number;
  /** Most open connections, inbound plus outbound (default 1024). Extra inbound ones are refused. */
  maxConnections?: number;
  /** Most unframed input or unsent output per connection before it is closed / sends fail (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Give up an outgoing connect after this long (default 10 000 ms, as Net::SIP). */
  connectTimeoutMs?: number;
  /** Largest header section the framer accepts (default 16 KiB, as Net::SIP). */
  maxHeaderSize?: number;
}

/** How long a graceful close waits for peers before destroying connections. */
const CLOSE_GRACE_MS = 2000;

let nextConnectionId = 0;

/** One TCP or TLS connection of a {@link StreamLeg}. */
export class StreamConnection implements LegConnection {
  readonly id = `c${++nextConnectionId}`;
  readonly framer: StreamFramer;
  /** Set by the leg: keeps a registered flow open while idle. */
  pin: FlowPin | undefined;
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
  protected readonly keepRegisteredFlows: boolean;

  constructor(options: StreamLegOptions, defaultListenPort: number) {
    super(options, defaultListenPort);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.maxConnections = options.maxConnections ?? 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.maxHeaderSize = options.maxHeaderSize ?? 16 * 1024;
    this.keepRegisteredFlows = options.keepRegisteredFlows ?? true;
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
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new LegStartError(this.describe(), error));
      server.once('error', onError);
      server.listen({ host: this.address, port: this.port, ipv6Only: this.family === 6, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (error) => this.publishError('server-error', error));
        const info = server.address();
        if (info !== null && typeof info === 'object') this.boundPort = info.port;
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    if (!this.accepting || this.table.size >= this.maxConnections) {
      this.publishError('too-many-connections', new Error(`connection limit ${this.maxConnections} reached`));
      socket.destroy();
      return;
    }
    const address = canonicalAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    const remote: Source = { transport: this.transport, address, port, family: ipFamily(address) ?? this.family };
    this.adopt(socket, remote, 'inbound');
  }

  protected adopt(socket: Socket, remote: Source, direction: 'inbound' | 'outbound'): StreamConnection {
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
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (error) => this.publishError('connection-error', error, remote, connection));
    socket.on('close', () => {
      this.table.remove(connection);
      this.onConnectionClose?.(connection);
    });
    return connection;
  }

  private onData(connection: StreamConnection, chunk: Buffer): void {
    if (connection.closed) return;
    const events = connection.framer.push(chunk);
    for (const event of events) {
      if (event.type === 'message') {
        if (this.accepting) this.handleBytes(event.bytes, connection.remote, connection);
      } else if (event.type === 'ping') {
        // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong; never handed to the parser.
        connection.socket.write('\r\n');
      } else if (event.type === 'error') {
        // RFC 3261 §18.3: framing is lost, so this connection cannot be trusted any more.
        this.publishError('framing-lost', event.error, connection.remote, connection);
        connection.socket.destroy();
        return;
      }
    }
    if (connection.framer.bufferedBytes > this.maxBufferedBytes) {
      this.publishError('buffer-limit', new Error(`more than ${this.maxBufferedBytes} unframed bytes`), connection.remote, connection);
      connection.socket.destroy();
    }
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
    if (this.table.size + this.pending.size >= this.maxConnections) {
      return Promise.resolve(failure('TOO_MANY_CONNECTIONS', 503, `connection limit ${this.maxConnections} reached`));
    }
    const target = hostPort(destination.address, destination.port);
    return new Promise((resolve) => {
      let socket: Socket;
      let readyEvent: 'connect' | 'secureConnect';
      try {
        ({ socket, readyEvent } = this.openSocket(destination));
      } catch (error) {
        resolve(failure('CONNECT_FAILED', 503, `connect to ${target} failed: ${String(error)}`, error));
        return;
      }
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        resolve(failure('CONNECT_TIMEOUT', 408, `connect to ${target} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const onError = (error: Error): void => {
        cleanup();
        socket.destroy();
        resolve(failure('CONNECT_FAILED', 503, `connect to ${target} failed: ${error.message}`, error));
      };
      const onReady = (): void => {
        cleanup();
        if (!this.accepting) {
          socket.destroy();
          resolve(failure('CONNECT_FAILED', 503, 'leg closed while connecting'));
          return;
        }
        const remote: Source = {
          transport: this.transport,
          address: destination.address,
          port: destination.port,
          family: destination.family,
        };
        resolve(this.adopt(socket, remote, 'outbound'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off(readyEvent, onReady);
      };
      socket.once('error', onError);
      socket.once(readyEvent, onReady);
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
