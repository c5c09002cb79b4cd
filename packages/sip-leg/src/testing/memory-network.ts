/**
 * An in-memory network of legs for testing the layers above the transports (proxy,
 * registrar) without sockets, with knobs to drop, duplicate and delay messages.
 */
import { canonicalAddress, hostPort, ipFamily } from '../address.js';
import type { Destination, Transport } from '../destination.js';
import { LegStartError } from '../errors.js';
import { BaseLeg, failure } from '../leg.js';
import type { BaseLegOptions, SendResult, Source } from '../leg.js';
import { defaultPort } from '../destination.js';

/** One message that went through the network, with what the knobs did to it. */
export interface MemoryPacket {
  from: Source;
  to: Destination;
  bytes: Uint8Array;
  /** Text of the bytes (latin1), handy in assertions. */
  text: string;
  dropped: boolean;
  duplicated: boolean;
  delayMs: number;
  /** True when no leg listened at `to`. */
  unreachable: boolean;
}

/** Knobs of a {@link MemoryNetwork}; every one can be changed at any time with `configure`. */
export interface MemoryNetworkConditions {
  /** Probability 0..1 of dropping a message (seeded, reproducible). */
  dropRate?: number;
  /** Probability 0..1 of delivering a message twice. */
  duplicateRate?: number;
  /** Delay before delivery: fixed ms, or [min, max] picked per message. 0 = next microtask. */
  delayMs?: number | readonly [number, number];
  /** Drop exactly the packets this returns true for (checked before dropRate). */
  drop?: (packet: MemoryPacket) => boolean;
  /** Duplicate exactly the packets this returns true for. */
  duplicate?: (packet: MemoryPacket) => boolean;
}

export interface MemoryNetworkOptions extends MemoryNetworkConditions {
  /** Seed of the random generator behind the rates (default 1). */
  seed?: number | undefined;
}

export interface MemoryLegOptions extends BaseLegOptions {
  /** Transport the leg claims (default `udp`); stream transports fail sends when nobody listens. */
  transport?: Transport | undefined;
}

/**
 * A set of in-memory legs that can reach each other by transport, address and port.
 *
 * @example
 * const net = new MemoryNetwork({ dropRate: 0.1, seed: 7 });
 * const a = net.createLeg({ address: '10.0.0.1', port: 5060 });
 */
export class MemoryNetwork {
  private readonly legs = new Map<string, MemoryLeg>();
  private conditions: MemoryNetworkConditions;
  private random: () => number;
  private nextPort = 40000;
  private inFlight = 0;
  /** Every message sent, in order. */
  readonly packets: MemoryPacket[] = [];

  constructor(options: MemoryNetworkOptions = {}) {
    const { seed, ...conditions } = options;
    this.conditions = conditions;
    this.random = mulberry32(seed ?? 1);
  }

  /** Change the knobs (merged with the current ones). */
  configure(conditions: MemoryNetworkConditions): void {
    this.conditions = { ...this.conditions, ...conditions };
  }

  /** A new leg on this network (call `start()` to attach it). */
  createLeg(options: MemoryLegOptions = {}): MemoryLeg {
    return new MemoryLeg(this, options);
  }

  /** Resolves when every delayed message has been delivered. */
  async settle(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0) {
      if (Date.now() > deadline) throw new Error('memory network did not settle');
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** @internal */
  attach(leg: MemoryLeg, port: number): number {
    let chosen = port;
    if (chosen === 0) {
      while (this.legs.has(key(leg.transport, leg.address, this.nextPort))) this.nextPort++;
      chosen = this.nextPort++;
    }
    const k = key(leg.transport, leg.address, chosen);
    if (this.legs.has(k)) throw new Error(`${leg.transport} ${hostPort(leg.address, chosen)} is in use`);
    this.legs.set(k, leg);
    return chosen;
  }

  /** @internal */
  detach(leg: MemoryLeg): void {
    const k = key(leg.transport, leg.address, leg.port);
    if (this.legs.get(k) === leg) this.legs.delete(k);
  }

  /** @internal */
  route(from: MemoryLeg, bytes: Uint8Array, to: Destination): SendResult {
    const target = this.legs.get(key(to.transport, to.address, to.port));
    const c = this.conditions;
    const copy = new Uint8Array(bytes);
    const packet: MemoryPacket = {
      from: { transport: from.transport, address: from.address, port: from.port, family: from.family },
      to,
      bytes: copy,
      text: Buffer.from(copy).toString('latin1'),
      dropped: false,
      duplicated: false,
      delayMs: 0,
      unreachable: target === undefined,
    };
    this.packets.push(packet);
    if (target === undefined) {
      // Datagrams vanish silently; a stream connect is refused.
      return to.transport === 'udp'
        ? { ok: true, destination: to }
        : failure('CONNECT_FAILED', 503, `nothing listens on ${to.transport} ${hostPort(to.address, to.port)}`);
    }
    packet.dropped = (c.drop?.(packet) ?? false) || this.random() < (c.dropRate ?? 0);
    if (packet.dropped) return { ok: true, destination: to };
    packet.duplicated = (c.duplicate?.(packet) ?? false) || this.random() < (c.duplicateRate ?? 0);
    const delay = c.delayMs ?? 0;
    packet.delayMs = typeof delay === 'number' ? delay : delay[0] + this.random() * (delay[1] - delay[0]);
    const copies = packet.duplicated ? 2 : 1;
    for (let i = 0; i < copies; i++) this.schedule(target, copy, packet.from, packet.delayMs);
    return { ok: true, destination: to };
  }

  private schedule(target: MemoryLeg, bytes: Uint8Array, from: Source, delayMs: number): void {
    this.inFlight++;
    const run = (): void => {
      this.inFlight--;
      target.deliverFromNetwork(bytes, from);
    };
    if (delayMs <= 0) queueMicrotask(run);
    else setTimeout(run, delayMs);
  }
}

/** A leg on a {@link MemoryNetwork}: the same contract and receive path as the socket legs. */
export class MemoryLeg extends BaseLeg {
  readonly transport: Transport;
  private readonly network: MemoryNetwork;

  constructor(network: MemoryNetwork, options: MemoryLegOptions = {}) {
    super(options, defaultPort(options.transport ?? 'udp'));
    this.transport = options.transport ?? 'udp';
    this.network = network;
  }

  /** @internal Called by the network. */
  deliverFromNetwork(bytes: Uint8Array, from: Source): void {
    if (!this.accepting) return;
    this.handleBytes(bytes, { ...from, transport: this.transport });
  }

  protected listen(): Promise<void> {
    try {
      this.boundPort = this.network.attach(this, this.port);
    } catch (error) {
      return Promise.reject(new LegStartError(this.describe(), error));
    }
    return Promise.resolve();
  }

  protected transmit(bytes: Uint8Array, destination: Destination): Promise<SendResult> {
    return Promise.resolve(this.network.route(this, bytes, destination));
  }

  protected shutdown(): Promise<void> {
    this.network.detach(this);
    return Promise.resolve();
  }

  protected abort(): void {
    this.network.detach(this);
  }
}

function key(transport: Transport, address: string, port: number): string {
  return `${transport}|${canonicalAddress(address)}|${port}|${ipFamily(address) ?? 0}`;
}

/** Small seeded PRNG so network conditions are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
