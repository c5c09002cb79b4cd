import { isIP } from 'node:net';
import type { LegConnection } from '../leg.js';
import { slotClosed, slotOpened } from './fd-budget.js';

/**
 * Connection admission of the stream legs (TCP, TLS, WebSocket): every socket counts from the
 * moment it is accepted — during a TLS handshake or before a WebSocket upgrade too — against a
 * total and a per-source limit; when the total is reached, the longest-idle connection makes
 * room instead of everyone being refused.
 */

/** A connection idle at least this long may be closed to make room for a new one. */
export const EVICT_MIN_IDLE_MS = 10_000;

/** One counted socket. */
export interface Slot {
  /** Source key (address or its prefix) of an inbound socket; undefined for outbound ones. */
  readonly source: string | undefined;
  /** `handshake` until SIP can flow (TLS handshake, WebSocket upgrade), then `open`. */
  stage: 'handshake' | 'open';
  /** Last time bytes moved (ms, `Date.now()`); eviction picks the oldest. */
  lastActivity: number;
  /** The SIP connection once open. */
  connection: LegConnection | undefined;
  /** Close the socket at once (eviction, deadlines). */
  readonly kill: () => void;
  released: boolean;
}

export interface ConnectionLimits {
  /** Total sockets, inbound (any stage) plus outbound. */
  maxConnections: number;
  /** Inbound sockets per source address (IPv4) or prefix (IPv6); 0 = no per-source limit. */
  maxConnectionsPerSource: number;
  /** IPv6 sources are grouped by this prefix length (default 64: one customer's network). */
  sourcePrefixV6: number;
  /** At the total limit, a connection idle at least this long is closed for a new one (default {@link EVICT_MIN_IDLE_MS}). */
  evictIdleMs?: number | undefined;
}

export type Admission = Slot | 'source-limit' | 'total-limit';

export class ConnectionLimiter {
  private readonly slots = new Set<Slot>();
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly limits: ConnectionLimits,
    /** False for a connection that must stay (a pinned registration flow). */
    private readonly canEvict: (slot: Slot) => boolean = () => true,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /**
   * Admit an inbound socket from `address`. Over the per-source limit it is refused; at the total
   * limit the longest-idle evictable connection (idle ≥ {@link EVICT_MIN_IDLE_MS}) is closed to
   * make room, and only when there is none is the new one refused.
   */
  admit(address: string, stage: Slot['stage'], kill: () => void, now = Date.now()): Admission {
    const source = sourceKey(address, this.limits.sourcePrefixV6);
    const count = this.perSource.get(source) ?? 0;
    if (this.limits.maxConnectionsPerSource > 0 && count >= this.limits.maxConnectionsPerSource) return 'source-limit';
    if (this.slots.size >= this.limits.maxConnections && this.evictIdle(1, this.limits.evictIdleMs ?? EVICT_MIN_IDLE_MS, now) === 0) return 'total-limit';
    this.perSource.set(source, count + 1);
    return this.add({ source, stage, lastActivity: now, connection: undefined, kill, released: false });
  }

  /** Count an outbound connection (no per-source limit: we chose the peer). */
  reserve(kill: () => void, now = Date.now()): Slot | undefined {
    if (this.slots.size >= this.limits.maxConnections && this.evictIdle(1, this.limits.evictIdleMs ?? EVICT_MIN_IDLE_MS, now) === 0) return undefined;
    return this.add({ source: undefined, stage: 'handshake', lastActivity: now, connection: undefined, kill, released: false });
  }

  /** Forget a socket (closed). Idempotent. */
  release(slot: Slot): void {
    if (slot.released) return;
    slot.released = true;
    this.slots.delete(slot);
    slotClosed();
    if (slot.source === undefined) return;
    const n = (this.perSource.get(slot.source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(slot.source);
    else this.perSource.set(slot.source, n);
  }

  /**
   * Close up to `count` connections idle for at least `minIdleMs`, longest idle first, skipping
   * those `canEvict` protects. Returns how many were closed.
   */
  evictIdle(count: number, minIdleMs: number, now = Date.now()): number {
    let closed = 0;
    while (closed < count) {
      let oldest: Slot | undefined;
      for (const s of this.slots) {
        if (now - s.lastActivity < minIdleMs || !this.canEvict(s)) continue;
        if (oldest === undefined || s.lastActivity < oldest.lastActivity) oldest = s;
      }
      if (oldest === undefined) break;
      this.release(oldest);
      oldest.kill();
      closed++;
    }
    return closed;
  }

  all(): Slot[] {
    return [...this.slots];
  }

  private add(slot: Slot): Slot {
    this.slots.add(slot);
    slotOpened();
    return slot;
  }
}

/**
 * The per-source key: an IPv4 address as is, an IPv6 address cut to `prefixV6` bits (a /64 is one
 * subscriber's network: it can hold any number of addresses, so counting them one by one limits
 * nothing). IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function sourceKey(address: string, prefixV6: number): string {
  const bare = address.startsWith('[') ? address.slice(1, -1) : address;
  const kind = isIP(bare);
  if (kind !== 6) return bare;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1] !== undefined) return mapped[1];
  const groups = expandIpv6(bare);
  if (groups === undefined) return bare.toLowerCase();
  const bits = Math.max(0, Math.min(128, prefixV6));
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push(((groups[i] ?? 0) & mask).toString(16));
  }
  return `${out.join(':')}/${bits}`;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4 handled above; ::1.2.3.4 and the like here).
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const parts = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  if (parts.length !== 8) return undefined;
  return parts.map((p) => Number.parseInt(p, 16));
}
