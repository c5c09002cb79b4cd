import type { Socket } from 'node:net';
import { canonicalAddress } from '../address.js';
import type { LegConnection, Source } from '../leg.js';
import { ConnectionLimiter, sourceKey } from './connection-limiter.js';
import { descriptorsScarce, fdReserve } from './fd-budget.js';
import type { ConnectionLimits, Slot } from './connection-limiter.js';

/** After running out of file descriptors, new inbound sockets are closed at once for this long. */
export const FD_PAUSE_MS = 1000;
/** Share of the open connections (at least 1) closed, longest idle first, when descriptors run out. */
const FD_EVICT_SHARE = 0.05;
/** Connections idle at least this long may be closed when descriptors run out. */
const FD_EVICT_MIN_IDLE_MS = 1000;

/** Options of the guard of one stream leg. */
export interface SocketGuardOptions extends ConnectionLimits {
  /** TLS handshake / WebSocket upgrade must finish this long after the TCP accept (0 = no deadline). */
  handshakeTimeoutMs: number;
  /** The leg (read lazily: transport and family of sources in events). */
  leg: { readonly transport: Source['transport']; readonly family: Source['family'] };
  /** Publish a `sipway:leg:error` event. */
  publish: (kind: string, error: unknown, source?: Source, connection?: LegConnection) => void;
  /** A sampled log line (the leg's `note`). */
  note: (kind: string, key: string, level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown>) => void;
  /** Close a refused socket (default: destroy; the ws leg answers HTTP 503 first). */
  refuse?: ((raw: Socket) => void) | undefined;
  /** False for connections that must not be closed to make room (pinned flows). */
  canEvict?: ((connection: LegConnection) => boolean) | undefined;
}

/** True for the errno codes of a process (EMFILE) or system (ENFILE) out of file descriptors. */
export function isFdExhausted(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Admission, deadlines and sampled logging for the sockets of one stream leg, shared by the
 * TCP/TLS and WebSocket legs. Sockets are counted from the raw TCP accept (the server's
 * `connection` event), so a TLS handshake or a WebSocket upgrade in progress holds a slot too.
 */
export class SocketGuard {
  readonly limiter: ConnectionLimiter;
  private readonly bySocket = new WeakMap<Socket, Slot>();
  private readonly timers = new WeakMap<Slot, NodeJS.Timeout>();
  private pausedUntil = 0;

  constructor(private readonly options: SocketGuardOptions) {
    const canEvict = options.canEvict;
    this.limiter = new ConnectionLimiter(
      options,
      canEvict === undefined ? undefined : (slot) => slot.connection === undefined || canEvict(slot.connection),
    );
  }

  /**
   * The server's `connection` event: count the raw socket or close it at once (over a limit,
   * or during the pause after running out of descriptors). `handshake`: a TLS handshake or an
   * HTTP upgrade must complete before the deadline.
   */
  admit(raw: Socket, handshake: boolean): Slot | undefined {
    const address = canonicalAddress(raw.remoteAddress ?? '');
    const source: Source = { transport: this.options.leg.transport, address, port: raw.remotePort ?? 0, family: this.options.leg.family };
    const now = Date.now();
    if (now < this.pausedUntil) {
      // Counted in the next out-of-descriptors line rather than logged one by one.
      raw.destroy();
      this.options.publish('too-many-connections', new Error('accepting paused: out of file descriptors'), source);
      return undefined;
    }
    // libuv hides EMFILE on accept (it closes the pending sockets itself): watch the budget instead.
    const scarce = descriptorsScarce();
    if (scarce !== undefined) {
      raw.destroy();
      this.fdExhausted('accept', undefined, scarce);
      return undefined;
    }
    const admitted = this.limiter.admit(address, handshake ? 'handshake' : 'open', () => raw.destroy(), now);
    if (admitted === 'source-limit' || admitted === 'total-limit') {
      if (this.options.refuse !== undefined) this.options.refuse(raw);
      else raw.destroy();
      const what = admitted === 'source-limit'
        ? `per-source connection limit ${this.options.maxConnectionsPerSource} reached`
        : `connection limit ${this.options.maxConnections} reached, no idle connection to close`;
      this.options.publish('too-many-connections', new Error(what), source);
      this.note(admitted, admitted === 'source-limit' ? sourceKey(address, this.options.sourcePrefixV6) : '', 'warn', `connection refused: ${what}`, { source: address });
      return undefined;
    }
    this.bySocket.set(raw, admitted);
    raw.once('close', () => this.release(admitted));
    if (handshake && this.options.handshakeTimeoutMs > 0) {
      const timer = setTimeout(() => {
        if (admitted.stage !== 'handshake' || admitted.released) return;
        const error = new Error(`handshake not complete within ${this.options.handshakeTimeoutMs} ms`);
        this.options.publish('handshake-timeout', error, source);
        this.note('handshake-timeout', sourceKey(address, this.options.sourcePrefixV6), 'info', 'connection closed: handshake deadline passed', { source: address, deadlineMs: this.options.handshakeTimeoutMs });
        raw.destroy();
      }, this.options.handshakeTimeoutMs);
      timer.unref();
      this.timers.set(admitted, timer);
    }
    return admitted;
  }

  /** The slot of an accepted socket (the raw one or a TLS socket over it). */
  slotOf(socket: Socket | undefined): Slot | undefined {
    if (socket === undefined) return undefined;
    return this.bySocket.get(socket) ?? this.bySocket.get((socket as Socket & { _parent?: Socket })._parent as Socket);
  }

  /** The handshake is done: SIP flows on `connection`. */
  opened(slot: Slot, connection: LegConnection): void {
    slot.stage = 'open';
    slot.connection = connection;
    slot.lastActivity = Date.now();
    const timer = this.timers.get(slot);
    if (timer !== undefined) clearTimeout(timer);
  }

  /** Count an outbound connection; undefined when the total limit is reached and nothing idle can go. */
  reserve(kill: () => void): Slot | undefined {
    return this.limiter.reserve(kill);
  }

  release(slot: Slot): void {
    const timer = this.timers.get(slot);
    if (timer !== undefined) clearTimeout(timer);
    this.limiter.release(slot);
  }

  /**
   * Out of file descriptors (EMFILE/ENFILE) on accept or connect: one clear log line (then one
   * per interval with a count), close the longest-idle connections to free descriptors, and close
   * new inbound sockets at once for {@link FD_PAUSE_MS} so the freed ones go to work in progress.
   */
  fdExhausted(where: 'accept' | 'connect', error: unknown, scarce?: { open: number; limit: number }): void {
    const now = Date.now();
    this.pausedUntil = now + FD_PAUSE_MS;
    const toClose = Math.max(1, Math.ceil(this.limiter.size * FD_EVICT_SHARE));
    const closed = this.limiter.evictIdle(toClose, FD_EVICT_MIN_IDLE_MS, now);
    const what =
      scarce === undefined
        ? `out of file descriptors (${(error as { code?: string } | undefined)?.code ?? 'EMFILE'}) on ${where}`
        : `out of file descriptors (${scarce.open} of ${scarce.limit} open, ${fdReserve(scarce.limit)} kept for outgoing connections) on ${where}`;
    this.options.publish('fd-exhausted', error ?? new Error(what));
    this.note('fd-exhausted', '', 'error', `${what}: raise the limit (ulimit -n) or lower maxConnections; new connections refused for ${FD_PAUSE_MS} ms, ${closed} idle closed`, {
      where,
      connections: this.limiter.size,
      closedIdle: closed,
      ...(scarce === undefined ? { error: String(error) } : scarce),
    });
  }

  private note(kind: string, key: string, level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown>): void {
    this.options.note(kind, key, level, message, data);
  }
}
