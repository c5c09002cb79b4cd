/**
 * The built-in relay (Net::SIP's NATHelper::Local): RTP/RTCP socket pairs per stream per side,
 * in this process, forwarding both ways with latching (symmetric RTP).
 *
 * @see RFC 3264 (offer/answer: streams by m= position, port 0, re-offers), RFC 3605, RFC 5761
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { publishSession, publishTraffic, trafficChannel } from './diagnostics.js';
import { MediaRelayError } from './errors.js';
import { Sdp, unspecified } from './sdp.js';
import type { SdpMedia, SdpReplacement } from './sdp.js';
import type { MediaCall, MediaDeleteReason, MediaRelay, MediaSide } from './types.js';

/** Optional logger in pino's `(fields, msg)` order, every method optional: a pino logger is passed straight in. */
export interface MediaRelayLogger {
  debug?(fields: Record<string, unknown>, msg: string): void;
  info?(fields: Record<string, unknown>, msg: string): void;
  warn?(fields: Record<string, unknown>, msg: string): void;
  error?(fields: Record<string, unknown>, msg: string): void;
}

/** Options of {@link BuiltinMediaRelay}; all optional. */
export interface BuiltinMediaRelayOptions {
  /** First port of the range (even ports carry RTP, the next odd one RTCP). Default 30000. */
  portMin?: number | undefined;
  /** Last port of the range. Default 39999. */
  portMax?: number | undefined;
  /** At most this many calls with media at once; more offers fail with `MEDIA_LIMIT`. Default 2000. */
  maxSessions?: number | undefined;
  /** At most this many sockets (4 per relayed stream); more fail with `MEDIA_LIMIT`. Default 10000. */
  maxSockets?: number | undefined;
  /** An answered call whose media stopped this long (ms) is closed. Default 60000 (rtpengine's timeout). */
  idleTimeout?: number | undefined;
  /** A call offered but never answered is closed after this long (ms). Default 180000 (longer than Timer C would let a call ring, RFC 3261 §16.6). */
  offerTimeout?: number | undefined;
  /** How often (ms) idle calls are looked for and traffic counters published. Default 1000. */
  sweepInterval?: number | undefined;
  logger?: MediaRelayLogger | undefined;
}

/** Counters since start. */
export interface MediaRelayStats {
  /** Calls with media now. */
  sessions: number;
  /** Sockets open now. */
  sockets: number;
  /** Packets and bytes forwarded. */
  packets: number;
  bytes: number;
  /** Packets dropped: before the answer, from a source other than the latched one, or with nowhere to go. */
  dropped: number;
  /** Calls opened and closed since start. */
  opened: number;
  closed: number;
}

interface Target {
  address: string;
  port: number;
}

/**
 * One relay socket and the peer it learned. Once latched, the socket is connect()ed to that
 * peer: the kernel then drops datagrams from anyone else and sends need no address lookup
 * (Node's dgram resolves even an IP literal on each unconnected send).
 */
class RelaySocket {
  latch: Target | undefined;
  #state: 'idle' | 'connecting' | 'connected' = 'idle';
  #connectedTo: Target | undefined;
  constructor(readonly socket: Socket) {}

  learn(address: string, port: number): void {
    this.latch = { address, port };
    if (this.#state === 'idle') this.#connect();
  }

  forget(): void {
    this.latch = undefined;
    if (this.#state === 'connected') this.#disconnect();
  }

  send(msg: Buffer, target: Target): void {
    if (this.#state === 'connected' && this.#connectedTo === this.latch) this.socket.send(msg);
    else this.socket.send(msg, target.port, target.address);
  }

  #connect(): void {
    const to = this.latch!;
    this.#state = 'connecting';
    try {
      this.socket.connect(to.port, to.address, () => {
        this.#state = 'connected';
        this.#connectedTo = to;
        // The latch changed (a re-offer) while connecting: start over.
        if (this.latch !== to) {
          this.#disconnect();
          if (this.latch !== undefined) this.#connect();
        }
      });
    } catch {
      this.#state = 'idle';
    }
  }

  #disconnect(): void {
    try {
      this.socket.disconnect();
    } catch {
      // not connected after all
    }
    this.#state = 'idle';
    this.#connectedTo = undefined;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // Already closed.
    }
  }
}

/** One party's end of one stream: the sockets it sends to and receives from. */
class Endpoint {
  /** RTP target from the SDP (undefined: none, or held with 0.0.0.0). */
  rtpTarget: Target | undefined;
  rtcpTarget: Target | undefined;
  /** Where this party's packets really come from (RFC 4961 symmetric RTP), and the sockets. */
  readonly rtp: RelaySocket;
  readonly rtcp: RelaySocket;
  peer!: Endpoint;
  constructor(
    readonly call: Call,
    readonly address: string,
    readonly family: 4 | 6,
    readonly port: number,
    rtp: Socket,
    rtcp: Socket,
  ) {
    this.rtp = new RelaySocket(rtp);
    this.rtcp = new RelaySocket(rtcp);
  }

  setTargets(rtp: Target | undefined, rtcp: Target | undefined): void {
    if (!same(rtp, this.rtpTarget)) this.rtp.forget();
    if (!same(rtcp, this.rtcpTarget)) this.rtcp.forget();
    this.rtpTarget = rtp;
    this.rtcpTarget = rtcp;
  }
}

/** What an offer said about its offerer, until the answer commits it. */
interface Offer {
  offerer: 0 | 1;
  cseq: number | undefined;
  /** Per m= line: the offerer's RTP/RTCP targets, or null for a disabled stream. */
  streams: Array<{ rtp: Target | undefined; rtcp: Target | undefined } | null>;
}

class Call {
  readonly tags: [string | undefined, string | undefined];
  /** Per m= line: the two parties' ends, index 0 the first offerer's (the caller's). */
  readonly streams: Array<[Endpoint, Endpoint] | undefined> = [];
  active = false;
  offer: Offer | undefined;
  /** The offer the last answer committed (a refused re-offer falls back to it). */
  committed: Offer | undefined;
  packets = 0;
  bytes = 0;
  seenPackets = 0;
  /** Offers of one call run one after the other (a retransmitted INVITE must not bind twice). */
  queue: Promise<unknown> = Promise.resolve();
  lastActivity: number;
  constructor(
    readonly callId: string,
    fromTag: string,
    readonly setupCseq: number | undefined,
    now: number,
  ) {
    this.tags = [fromTag, undefined];
    this.lastActivity = now;
  }
}

const OPTION_NAMES = new Set(['portMin', 'portMax', 'maxSessions', 'maxSockets', 'idleTimeout', 'offerTimeout', 'sweepInterval', 'logger']);

/**
 * Net::SIP's NATHelper::Local in Node.js: for each media stream of a call crossing legs, a
 * socket pair (RTP on an even port, RTCP on the next) on the address of each side's leg; the
 * SDP each side receives names the pair on its own side. Packets flow once the answer is seen,
 * each way, to the address the far party's packets really come from (latching: a phone behind a
 * NAT whose SDP names a private address still gets its media), else to the address its SDP names.
 * A re-offer (re-INVITE, UPDATE) keeps the sockets and moves the targets when answered; BYE,
 * CANCEL and a refused INVITE close the call; idle calls expire.
 *
 * @see RFC 3264, RFC 4566, RFC 3605 (a=rtcp), RFC 5761 (a=rtcp-mux), RFC 4961 (symmetric RTP)
 * @example
 * const relay = new BuiltinMediaRelay({ portMin: 30000, portMax: 30999 });
 * const proxy = new StatelessProxy({ dispatcher, mediaRelay: relay });
 */
export class BuiltinMediaRelay implements MediaRelay {
  readonly #portMin: number;
  readonly #portMax: number;
  readonly #maxSessions: number;
  readonly #maxSockets: number;
  readonly #idleTimeout: number;
  readonly #offerTimeout: number;
  readonly #logger: MediaRelayLogger | undefined;
  readonly #calls = new Map<string, Call>();
  /** `address|port` of every RTP port this relay holds. */
  readonly #ports = new Set<string>();
  readonly #cursor = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  #sockets = 0;
  #packets = 0;
  #bytes = 0;
  #dropped = 0;
  #published = { packets: 0, bytes: 0, dropped: 0 };
  #opened = 0;
  #closedCalls = 0;
  #closed = false;

  constructor(options: BuiltinMediaRelayOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
    for (const name of Object.keys(options)) if (!OPTION_NAMES.has(name)) throw invalid(`unknown option "${name}"`);
    const int = (name: keyof BuiltinMediaRelayOptions, fallback: number, min: number, max: number): number => {
      const v = options[name] ?? fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer from ${min} to ${max}`);
      return v;
    };
    this.#portMin = int('portMin', 30000, 1024, 65534);
    this.#portMax = int('portMax', 39999, 1025, 65535);
    // An even RTP port and the odd one after it must fit.
    const firstEven = this.#portMin + (this.#portMin % 2);
    if (firstEven + 1 > this.#portMax) throw invalid(`port range ${this.#portMin}-${this.#portMax} holds no RTP/RTCP pair (an even port and the next)`);
    this.#maxSessions = int('maxSessions', 2000, 1, 1_000_000);
    this.#maxSockets = int('maxSockets', 10000, 4, 1_000_000);
    this.#idleTimeout = int('idleTimeout', 60_000, 100, 86_400_000);
    this.#offerTimeout = int('offerTimeout', 180_000, 100, 86_400_000);
    const sweep = int('sweepInterval', 1000, 10, 60_000);
    this.#logger = options.logger;
    this.#timer = setInterval(() => this.#sweep(), sweep);
    this.#timer.unref();
  }

  /** Counters since start (what the `sipway:media:*` channels publish). */
  stats(): MediaRelayStats {
    return {
      sessions: this.#calls.size,
      sockets: this.#sockets,
      packets: this.#packets,
      bytes: this.#bytes,
      dropped: this.#dropped,
      opened: this.#opened,
      closed: this.#closedCalls,
    };
  }

  /** Calls with media now. */
  get sessions(): number {
    return this.#calls.size;
  }

  async offer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    if (this.#closed) throw new MediaRelayError('MEDIA_CLOSED', 'media relay is closed');
    const parsed = Sdp.parse(sdp);
    usable(from);
    usable(to);
    let c = this.#calls.get(call.callId);
    const created = c === undefined;
    if (c === undefined) {
      if (this.#calls.size >= this.#maxSessions) throw new MediaRelayError('MEDIA_LIMIT', `media relay: ${this.#maxSessions} sessions (maxSessions) in use`);
      c = new Call(call.callId, call.fromTag, call.cseq, Date.now());
      this.#calls.set(call.callId, c);
      this.#opened++;
      publishSession({ event: 'open', callId: call.callId });
    }
    const known = c;
    const run = known.queue.then(() => this.#offer(known, created, parsed, call, from, to));
    known.queue = run.catch(() => undefined);
    return run;
  }

  async #offer(c: Call, created: boolean, parsed: Sdp, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    if (this.#calls.get(c.callId) !== c) throw new MediaRelayError('MEDIA_NO_SESSION', `media relay: call ${call.callId} ended before its offer`);
    const a = offererOf(c, call);
    const b = a === 0 ? 1 : 0;
    const offer: Offer = { offerer: a, cseq: call.cseq, streams: [] };
    const replacements: Array<SdpReplacement | undefined> = [];
    try {
      for (const m of parsed.media) {
        if (m.port === 0) {
          offer.streams.push(null);
          replacements.push(undefined);
          continue;
        }
        let pair = c.streams[m.index];
        // Each party's end lives on the address of its own leg; a leg change means new sockets.
        const want: [MediaSide, MediaSide] = a === 0 ? [from, to] : [to, from];
        if (pair !== undefined && (pair[0].address !== want[0].address || pair[1].address !== want[1].address)) {
          this.#closeStream(pair);
          pair = undefined;
          c.streams[m.index] = undefined;
        }
        if (pair === undefined) {
          pair = await this.#allocate(c, want[0], want[1]);
          // The call may have been deleted (BYE, CANCEL) while the sockets were bound.
          if (this.#calls.get(c.callId) !== c) {
            this.#closeStream(pair);
            throw new MediaRelayError('MEDIA_NO_SESSION', `media relay: call ${call.callId} ended during the offer`);
          }
          c.streams[m.index] = pair;
        }
        offer.streams.push(targetsOf(m));
        const end = pair[b];
        replacements.push({ family: end.family, address: end.address, rtpPort: end.port, rtcpPort: end.port + 1 });
      }
    } catch (error) {
      if (created) this.#end(c, 'failed');
      throw error;
    }
    c.offer = offer;
    c.lastActivity = Date.now();
    return parsed.rewrite(replacements);
  }

  async answer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    if (this.#closed) throw new MediaRelayError('MEDIA_CLOSED', 'media relay is closed');
    void from;
    void to;
    const c = this.#calls.get(call.callId);
    const offer = c?.offer;
    if (c === undefined || offer === undefined) throw new MediaRelayError('MEDIA_NO_SESSION', `media relay: no offer for call ${call.callId}`);
    const parsed = Sdp.parse(sdp);
    if (parsed.media.length !== offer.streams.length) {
      throw new MediaRelayError('MEDIA_BAD_SDP', `bad SDP: the answer has ${parsed.media.length} m= lines, the offer ${offer.streams.length} (RFC 3264 §6)`);
    }
    const a = offer.offerer;
    const b = a === 0 ? 1 : 0;
    if (c.tags[b] === undefined && call.toTag !== undefined) c.tags[b] = call.toTag;
    const replacements: Array<SdpReplacement | undefined> = [];
    for (const m of parsed.media) {
      const pair = c.streams[m.index];
      const offered = offer.streams[m.index];
      if (m.port === 0 || offered === null || offered === undefined || pair === undefined) {
        replacements.push(undefined);
        continue;
      }
      const end = pair[a];
      replacements.push({ family: end.family, address: end.address, rtpPort: end.port, rtcpPort: end.port + 1 });
    }
    // Commit: the offerer's targets from the offer, the answerer's from this answer.
    for (const m of parsed.media) {
      const pair = c.streams[m.index];
      const offered = offer.streams[m.index];
      if (pair === undefined) continue;
      if (m.port === 0 || offered === null || offered === undefined) {
        // A stream disabled by either side (RFC 3264 §6, §8.2) releases its sockets.
        this.#closeStream(pair);
        c.streams[m.index] = undefined;
        continue;
      }
      pair[a].setTargets(offered.rtp, offered.rtcp);
      const answered = targetsOf(m);
      pair[b].setTargets(answered.rtp, answered.rtcp);
    }
    c.committed = offer;
    c.lastActivity = Date.now();
    if (!c.active) {
      c.active = true;
      publishSession({ event: 'active', callId: c.callId });
    }
    return parsed.rewrite(replacements);
  }

  async delete(call: MediaCall, reason: MediaDeleteReason = 'bye'): Promise<void> {
    const c = this.#calls.get(call.callId);
    if (c === undefined) return;
    if (reason !== 'bye' && call.cseq !== undefined && c.setupCseq !== undefined && call.cseq !== c.setupCseq) {
      // A refused or cancelled re-INVITE: the call's media goes on as last agreed (RFC 3261 §14.1).
      if (c.offer?.cseq === call.cseq) c.offer = c.committed;
      return;
    }
    this.#end(c, reason);
  }

  /** Closes every call and socket (idempotent); offers fail with `MEDIA_CLOSED` afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const c of this.#calls.values()) this.#end(c, 'closed');
    this.#publishTraffic();
  }

  // ---- sockets ----

  async #allocate(c: Call, first: MediaSide, second: MediaSide): Promise<[Endpoint, Endpoint]> {
    if (this.#sockets + 4 > this.#maxSockets) throw new MediaRelayError('MEDIA_LIMIT', `media relay: ${this.#maxSockets} sockets (maxSockets) in use`);
    const e0 = await this.#endpoint(c, first);
    let e1: Endpoint;
    try {
      e1 = await this.#endpoint(c, second);
    } catch (error) {
      this.#closeEndpoint(e0);
      throw error;
    }
    e0.peer = e1;
    e1.peer = e0;
    return [e0, e1];
  }

  async #endpoint(c: Call, side: MediaSide): Promise<Endpoint> {
    const address = side.address;
    const type = side.family === 6 ? 'udp6' : 'udp4';
    const first = this.#portMin + (this.#portMin % 2);
    const pairs = Math.floor((this.#portMax - first + 1) / 2);
    let cursor = this.#cursor.get(address) ?? 0;
    for (let tried = 0; tried < pairs; tried++) {
      const port = first + 2 * (cursor % pairs);
      cursor = (cursor + 1) % pairs;
      const key = `${address}|${port}`;
      if (this.#ports.has(key)) continue;
      this.#ports.add(key);
      let rtp: Socket | undefined;
      try {
        rtp = await bindSocket(type, address, port);
        const rtcp = await bindSocket(type, address, port + 1);
        this.#cursor.set(address, cursor);
        this.#sockets += 2;
        const ep = new Endpoint(c, address, side.family, port, rtp, rtcp);
        rtp.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#relay(ep, true, msg, rinfo));
        rtcp.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#relay(ep, false, msg, rinfo));
        return ep;
      } catch (error) {
        this.#ports.delete(key);
        rtp?.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') {
          throw new MediaRelayError('MEDIA_NO_PORTS', `media relay: cannot bind on ${address}: ${(error as Error).message}`, { cause: error });
        }
      }
    }
    this.#cursor.set(address, cursor);
    throw new MediaRelayError('MEDIA_NO_PORTS', `media relay: no free port pair in ${this.#portMin}-${this.#portMax} on ${address}`);
  }

  #closeEndpoint(ep: Endpoint): void {
    ep.rtp.close();
    ep.rtcp.close();
    this.#sockets -= 2;
    this.#ports.delete(`${ep.address}|${ep.port}`);
  }

  #closeStream(pair: [Endpoint, Endpoint]): void {
    this.#closeEndpoint(pair[0]);
    this.#closeEndpoint(pair[1]);
  }

  #end(c: Call, reason: string): void {
    if (this.#calls.get(c.callId) !== c) return;
    this.#calls.delete(c.callId);
    for (const pair of c.streams) if (pair !== undefined) this.#closeStream(pair);
    c.streams.length = 0;
    c.active = false;
    this.#closedCalls++;
    this.#logger?.debug?.({ callId: c.callId, reason, packets: c.packets, bytes: c.bytes }, 'media session closed');
    publishSession({ event: 'close', callId: c.callId, reason, packets: c.packets, bytes: c.bytes });
  }

  // ---- the hot path ----

  #relay(ep: Endpoint, isRtp: boolean, msg: Buffer, rinfo: RemoteInfo): void {
    const c = ep.call;
    if (!c.active) {
      this.#dropped++;
      return;
    }
    // Latching: the first packet after an answer names where this party really is.
    const own = isRtp ? ep.rtp : ep.rtcp;
    const latch = own.latch;
    if (latch === undefined) own.learn(rinfo.address, rinfo.port);
    else if (latch.port !== rinfo.port || latch.address !== rinfo.address) {
      this.#dropped++;
      return;
    }
    const peer = ep.peer;
    const out = isRtp ? peer.rtp : peer.rtcp;
    const target = out.latch ?? (isRtp ? peer.rtpTarget : peer.rtcpTarget);
    if (target === undefined) {
      this.#dropped++;
      return;
    }
    out.send(msg, target);
    c.packets++;
    c.bytes += msg.length;
    this.#packets++;
    this.#bytes += msg.length;
  }

  #sweep(): void {
    const now = Date.now();
    for (const c of this.#calls.values()) {
      if (c.packets !== c.seenPackets) {
        c.seenPackets = c.packets;
        c.lastActivity = now;
      } else if (now - c.lastActivity > (c.active ? this.#idleTimeout : this.#offerTimeout)) {
        this.#end(c, c.active ? 'idle' : 'unanswered');
      }
    }
    this.#publishTraffic();
  }

  #publishTraffic(): void {
    if (!trafficChannel.hasSubscribers) return;
    const p = this.#published;
    const packets = this.#packets - p.packets;
    const bytes = this.#bytes - p.bytes;
    const dropped = this.#dropped - p.dropped;
    if (packets === 0 && dropped === 0) return;
    this.#published = { packets: this.#packets, bytes: this.#bytes, dropped: this.#dropped };
    publishTraffic({ relay: 'builtin', packets, bytes, dropped });
  }
}

function bindSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type, reuseAddr: false });
    const fail = (error: Error) => {
      try {
        s.close();
      } catch {
        // Never bound.
      }
      reject(error);
    };
    s.once('error', fail);
    s.bind({ address, port, exclusive: true }, () => {
      s.off('error', fail);
      // A send to a vanished peer (ICMP unreachable) must not throw out of the event loop.
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

function offererOf(c: Call, call: MediaCall): 0 | 1 {
  if (c.tags[1] !== undefined && c.tags[1] === call.fromTag) return 1;
  if (c.tags[0] === call.fromTag) return 0;
  // A late offer (in a 2xx or 18x) comes from the callee: its answerer is the caller.
  if (call.toTag !== undefined && c.tags[0] === call.toTag) {
    c.tags[1] ??= call.fromTag;
    return 1;
  }
  return 0;
}

/** Where a party wants its RTP and RTCP (RFC 3605: a=rtcp, else the RTP port + 1); none when held or disabled. */
function targetsOf(m: SdpMedia): { rtp: Target | undefined; rtcp: Target | undefined } {
  const c = m.connection;
  if (c === undefined || unspecified(c) || m.port === 0) return { rtp: undefined, rtcp: undefined };
  const rtcpAddress = m.rtcpAddress ?? c.address;
  return {
    rtp: { address: c.address, port: m.port },
    rtcp: { address: rtcpAddress, port: m.rtcpPort ?? m.port + 1 },
  };
}

function usable(side: MediaSide): void {
  if (isIP(side.address) === 0 || side.address === '0.0.0.0' || side.address === '::') {
    throw new MediaRelayError('MEDIA_NO_PORTS', `media relay: leg ${side.leg} has no address peers can send media to (${side.address}); bind the leg to a specific address`);
  }
}

function same(x: Target | undefined, y: Target | undefined): boolean {
  return x === y || (x !== undefined && y !== undefined && x.address === y.address && x.port === y.port);
}

function invalid(message: string): MediaRelayError {
  return new MediaRelayError('MEDIA_INVALID_OPTIONS', `BuiltinMediaRelay: ${message}`);
}
