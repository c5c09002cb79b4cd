// The media-relay interface (offer / answer / delete / close) driven by a real rtpengine through
// the ng control protocol: rtpengine rewrites the SDP and relays RTP/RTCP (and bridges WebRTC's
// ICE + DTLS-SRTP to plain RTP); this module only chooses the flags per side.
import type { BencodeInput } from './bencode.js';
import { checkClientOptions, RtpengineClient, type RtpengineClientOptions, type RtpengineLogger } from './client.js';
import { RtpengineError } from './errors.js';
import type { MediaCall, MediaDeleteReason, MediaRelay, MediaSide } from '../types.js';

/** How {@link RtpengineMediaRelay} talks to rtpengine, whatever client it uses. */
export interface RtpengineRelaySettings {
  /**
   * Multi-homed rtpengine: leg name (or leg address) → name of one of rtpengine's logical
   * interfaces (`--interface=NAME/IP`). Sent as `direction` in offers, so each side gets media
   * addresses of its own network. Without it rtpengine uses its default interface for both sides.
   * When given, every leg that carries media must be in it.
   */
  readonly interfaces?: Readonly<Record<string, string>> | undefined;
  /** DTLS role preferred towards WebRTC sides (`DTLS` key). Default: rtpengine's choice (active). */
  readonly dtls?: 'passive' | 'active' | undefined;
  /**
   * Transport protocol forced on a plain (non-WebRTC) side whose peer is plain too. Default: none,
   * so an SRTP phone (RTP/SAVP) keeps its protocol; towards a plain side whose peer is WebRTC it is
   * always `RTP/AVP`.
   */
  readonly plainProtocol?: 'RTP/AVP' | 'RTP/AVPF' | 'RTP/SAVP' | 'RTP/SAVPF' | undefined;
  /** Seconds rtpengine keeps a deleted call (`delete delay`). Default: rtpengine's `--delete-delay` (30 s). */
  readonly deleteDelay?: number | undefined;
  /** More `flags` for every offer and answer (e.g. `strict source`, `NAT-wait`). */
  readonly flags?: readonly string[] | undefined;
  readonly logger?: RtpengineLogger | undefined;
}

/** Options of {@link RtpengineMediaRelay.start}. Unknown options are an error. */
export interface RtpengineMediaRelayOptions extends RtpengineClientOptions, RtpengineRelaySettings {
  /** Check at start that rtpengine answers `ping`. Default true. */
  readonly ping?: boolean | undefined;
}

const RELAY_OPTIONS = new Set([
  'host',
  'port',
  'timeoutMs',
  'retries',
  'maxPending',
  'localAddress',
  'logger',
  'interfaces',
  'dtls',
  'plainProtocol',
  'deleteDelay',
  'flags',
  'ping',
]);

/** Initial offers remembered per generation (two generations) to tell a re-INVITE's CANCEL or rejection from the call's. */
const INITIAL_OFFERS_PER_GENERATION = 10_000;

/** Transport protocol of WebRTC media (RFC 5764 §8, RFC 8827): DTLS-SRTP with RTCP feedback. */
export const WEBRTC_PROTOCOL = 'UDP/TLS/RTP/SAVPF';

/** Whether a side is a WebRTC endpoint: its own flag, else its leg is a WebSocket (RFC 7118). */
export function isWebrtcSide(side: MediaSide): boolean {
  return side.webrtc ?? (side.transport === 'ws' || side.transport === 'wss');
}

/**
 * The media relay of a proxy backed by rtpengine (Kamailio's `rtpengine_offer/answer/delete`).
 * rtpengine allocates the ports, rewrites c=/m=/o= and relays media; several proxies may share
 * one rtpengine, since a call is keyed by Call-ID and tags only.
 *
 * Per side the SDP is made for its receiver: a WebRTC side (ws/wss leg) gets `UDP/TLS/RTP/SAVPF`,
 * ICE with rtpengine as the only candidate, DTLS-SRTP, rtcp-mux offered and required, `a=mid`;
 * a plain side gets no ICE, no rtcp-mux (separate RTCP port), and `RTP/AVP` when the other side
 * is WebRTC. rtpengine decrypts and encrypts between the two.
 *
 * ```ts
 * const relay = await RtpengineMediaRelay.start({ host: '127.0.0.1', port: 2223 });
 * const sdpForCallee = await relay.offer(sdp, { callId, fromTag }, inside, outside);
 * const sdpForCaller = await relay.answer(answerSdp, { callId, fromTag, toTag }, outside, inside);
 * await relay.delete({ callId, fromTag, toTag }); // on BYE, CANCEL, an error answer
 * await relay.close();
 * ```
 */
export class RtpengineMediaRelay implements MediaRelay {
  readonly client: RtpengineClient;
  readonly #ownsClient: boolean;
  readonly #options: RtpengineRelaySettings;
  readonly #logger: RtpengineLogger | undefined;
  #closed = false;
  /** `callId \0 fromTag` → CSeq of the initial offer: two generations, no timers (Net::SIP's way). */
  #initial = new Map<string, number>();
  #initialOlder = new Map<string, number>();

  /** Wraps an open client (shared or not: the relay closes it only when it opened it). */
  constructor(client: RtpengineClient, settings: RtpengineRelaySettings = {}, ownsClient = false) {
    checkRelayOptions(settings);
    this.client = client;
    this.#ownsClient = ownsClient;
    this.#options = settings;
    this.#logger = settings.logger;
  }

  /**
   * Opens a client and (unless `ping: false`) checks that rtpengine answers: a start-up error
   * (`RTPENGINE_TIMEOUT` / `RTPENGINE_UNREACHABLE`, bounded by `timeoutMs × (retries + 1)`)
   * names the address, instead of every call failing later.
   */
  static async start(options: RtpengineMediaRelayOptions): Promise<RtpengineMediaRelay> {
    for (const key of Object.keys(options)) {
      if (!RELAY_OPTIONS.has(key)) throw new RtpengineError('RTPENGINE_OPTION_INVALID', `rtpengine: unknown option ${key}`);
    }
    checkClientOptions(options);
    checkRelayOptions(options);
    const { host, port, timeoutMs, retries, maxPending, localAddress, logger } = options;
    const client = await RtpengineClient.connect({ host, port, timeoutMs, retries, maxPending, localAddress, logger });
    if (options.ping !== false) {
      try {
        await client.ping();
      } catch (error) {
        await client.close();
        throw error;
      }
    }
    logger?.info?.({ target: client.target }, 'rtpengine: ready');
    return new RtpengineMediaRelay(client, options, true);
  }

  /**
   * rtpengine `offer`: `sdp` came in from side `from` and goes out to side `to`. Resolves with the
   * SDP for `to` (media addresses of rtpengine). A re-offer with the same tags (a retransmitted
   * or re-INVITE) keeps the ports. Throws {@link RtpengineError} with status 503.
   */
  async offer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    const dict = this.#sdpCommand('offer', sdp, call, from, to);
    const direction = this.#direction(from, to);
    if (direction !== undefined) dict['direction'] = direction;
    dict['supports'] = ['load limit'];
    this.#rememberInitial(call);
    this.#logger?.debug?.({ callId: call.callId, from: from.leg, to: to.leg, protocol: dict['transport protocol'] }, 'rtpengine: offer');
    return this.#sdpOf(await this.client.request(dict as { command: string }), 'offer');
  }

  /**
   * rtpengine `answer`: `sdp` came from the answerer (`from`) and goes to the offerer (`to`).
   * Needs `call.toTag`. Resolves with the SDP for `to`. Throws {@link RtpengineError} (503).
   */
  async answer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    if (call.toTag === undefined || call.toTag === '') {
      throw new RtpengineError('RTPENGINE_CALL_INVALID', `rtpengine: an answer needs a To tag (Call-ID ${call.callId})`);
    }
    const dict = this.#sdpCommand('answer', sdp, call, from, to);
    this.#logger?.debug?.({ callId: call.callId, from: from.leg, to: to.leg, protocol: dict['transport protocol'] }, 'rtpengine: answer');
    return this.#sdpOf(await this.client.request(dict as { command: string }), 'answer');
  }

  /**
   * Ends a call's media (rtpengine `delete`). Idempotent: an unknown call is not an error.
   *
   * - `'bye'` (or no reason): the dialog of the From and To tags.
   * - `'cancel'` / `'rejected'` of the INVITE that set the call up: every branch of its From tag.
   * - `'cancel'` / `'rejected'` of a re-INVITE: nothing; rtpengine keeps the media agreed before
   *   (RFC 3261 §14.1). Told apart by the CSeq of the initial offer this relay saw for the
   *   Call-ID and From tag; when it did not see it (another proxy did, or it was forgotten), an
   *   in-dialog CANCEL (with a To tag) or a rejection whose To tag rtpengine already knows is a
   *   re-INVITE's.
   */
  async delete(call: MediaCall, reason?: MediaDeleteReason): Promise<void> {
    this.#checkCall(call);
    let toTag = call.toTag === '' ? undefined : call.toTag;
    if (reason === 'cancel' || reason === 'rejected') {
      const initial = this.#initialCseq(call);
      const reInvite =
        initial !== undefined && call.cseq !== undefined
          ? call.cseq !== initial
          : reason === 'cancel'
            ? toTag !== undefined
            : toTag !== undefined && (await this.#knowsTag(call.callId, toTag));
      if (reInvite) {
        this.#logger?.debug?.({ callId: call.callId, reason, cseq: call.cseq }, 'rtpengine: re-INVITE ended, media kept');
        return;
      }
      // The call never got going: every branch of the offer goes (rtpengine: no to-tag).
      toTag = undefined;
    }
    this.#forget(call);
    this.#logger?.debug?.({ callId: call.callId, reason }, 'rtpengine: delete');
    try {
      await this.client.request({
        command: 'delete',
        'call-id': call.callId,
        'from-tag': call.fromTag,
        'to-tag': toTag,
        'delete delay': this.#options.deleteDelay,
      });
    } catch (error) {
      // rtpengine answers an unknown call with a warning by default, with an error when asked to
      // be `fatal`; both mean the call is gone already.
      if (RtpengineError.isInstance(error) && error.rtpengineCode === 'RTPENGINE_ERROR' && isUnknownCall(error.reason)) return;
      throw error;
    }
  }

  /** Does rtpengine know `tag` in this call (an answer or offer of that party went through)? */
  async #knowsTag(callId: string, tag: string): Promise<boolean> {
    try {
      const reply = await this.client.request({ command: 'query', 'call-id': callId });
      const tags = reply.dict['tags'];
      return typeof tags === 'object' && tags !== null && !Array.isArray(tags) && Object.hasOwn(tags, tag);
    } catch (error) {
      if (RtpengineError.isInstance(error) && error.rtpengineCode === 'RTPENGINE_ERROR') return false;
      throw error;
    }
  }

  /** Remembers the CSeq of an initial offer (no To tag) per Call-ID and From tag; bounded. */
  #rememberInitial(call: MediaCall): void {
    if (call.toTag !== undefined && call.toTag !== '') return;
    if (call.cseq === undefined) return;
    if (this.#initial.size >= INITIAL_OFFERS_PER_GENERATION) {
      this.#initialOlder = this.#initial;
      this.#initial = new Map();
    }
    this.#initial.set(`${call.callId}\0${call.fromTag}`, call.cseq);
  }

  #initialCseq(call: MediaCall): number | undefined {
    const key = `${call.callId}\0${call.fromTag}`;
    return this.#initial.get(key) ?? this.#initialOlder.get(key);
  }

  #forget(call: MediaCall): void {
    for (const tag of [call.fromTag, call.toTag]) {
      if (tag === undefined) continue;
      this.#initial.delete(`${call.callId}\0${tag}`);
      this.#initialOlder.delete(`${call.callId}\0${tag}`);
    }
  }

  /** Closes the client if this relay opened it. rtpengine's calls stay until deleted or timed out. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.client.close();
  }

  #checkCall(call: MediaCall): void {
    if (this.#closed) throw new RtpengineError('RTPENGINE_CLOSED', 'rtpengine media relay is closed');
    if (typeof call.callId !== 'string' || call.callId === '' || typeof call.fromTag !== 'string' || call.fromTag === '') {
      throw new RtpengineError('RTPENGINE_CALL_INVALID', 'rtpengine: a call needs a Call-ID and a From tag');
    }
  }

  #sdpCommand(
    command: 'offer' | 'answer',
    sdp: string,
    call: MediaCall,
    from: MediaSide,
    to: MediaSide,
  ): Record<string, BencodeInput | undefined> {
    this.#checkCall(call);
    const toWebrtc = isWebrtcSide(to);
    const flags = [...(this.#options.flags ?? [])];
    const dict: Record<string, BencodeInput | undefined> = {
      command,
      sdp,
      'call-id': call.callId,
      'from-tag': call.fromTag,
      'to-tag': call.toTag === '' ? undefined : call.toTag,
      // The SDP must name rtpengine everywhere the receiver could take an address from.
      replace: ['origin', 'session connection'],
      'address family': to.family === 6 ? 'IP6' : 'IP4',
    };
    if (toWebrtc) {
      // WebRTC (RFC 8829 §5.1.3, RFC 8843): DTLS-SRTP only, ICE, rtcp-mux mandatory, a=mid present.
      dict['transport protocol'] = WEBRTC_PROTOCOL;
      dict['ICE'] = 'force';
      dict['rtcp-mux'] = ['offer', 'require'];
      dict['SDES'] = ['off'];
      if (this.#options.dtls !== undefined) dict['DTLS'] = this.#options.dtls;
      flags.push('generate mid');
    } else {
      // A plain phone: no ICE, RTCP on its own port (RFC 3550 §11), no DTLS.
      dict['ICE'] = 'remove';
      dict['rtcp-mux'] = ['demux'];
      dict['DTLS'] = 'off';
      const protocol = isWebrtcSide(from) ? 'RTP/AVP' : this.#options.plainProtocol;
      if (protocol !== undefined) dict['transport protocol'] = protocol;
    }
    if (flags.length > 0) dict['flags'] = flags;
    return dict;
  }

  #direction(from: MediaSide, to: MediaSide): [string, string] | undefined {
    const interfaces = this.#options.interfaces;
    if (interfaces === undefined) return undefined;
    const name = (side: MediaSide): string => {
      const found = Object.hasOwn(interfaces, side.leg) ? interfaces[side.leg] : Object.hasOwn(interfaces, side.address) ? interfaces[side.address] : undefined;
      if (found === undefined) {
        throw new RtpengineError('RTPENGINE_OPTION_INVALID', `rtpengine: leg ${side.leg} (${side.address}) has no entry in interfaces`);
      }
      return found;
    };
    return [name(from), name(to)];
  }

  #sdpOf(reply: { dict: Record<string, unknown> }, command: string): string {
    const sdp = reply.dict['sdp'];
    if (typeof sdp !== 'string' || sdp === '') {
      throw new RtpengineError('RTPENGINE_BAD_REPLY', `rtpengine answered ${command} without an SDP`);
    }
    return sdp;
  }
}

function isUnknownCall(reason: string | undefined): boolean {
  if (reason === undefined) return false;
  const lower = reason.toLowerCase();
  return lower.includes('unknown call') || lower.includes('not found');
}

function checkRelayOptions(options: RtpengineRelaySettings): void {
  const invalid = (message: string): never => {
    throw new RtpengineError('RTPENGINE_OPTION_INVALID', message);
  };
  const { interfaces, dtls, plainProtocol, deleteDelay, flags } = options;
  if (interfaces !== undefined) {
    if (typeof interfaces !== 'object' || interfaces === null) invalid('rtpengine: interfaces must map leg names to interface names');
    for (const [leg, name] of Object.entries(interfaces)) {
      if (typeof name !== 'string' || name === '') invalid(`rtpengine: interfaces.${leg} must be an rtpengine interface name`);
      if (leg === '') invalid('rtpengine: interfaces has an empty leg name');
    }
  }
  if (dtls !== undefined && dtls !== 'passive' && dtls !== 'active') invalid(`rtpengine: dtls must be passive or active, got ${String(dtls)}`);
  if (plainProtocol !== undefined && !['RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'RTP/SAVPF'].includes(plainProtocol)) {
    invalid(`rtpengine: plainProtocol must be RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF, got ${String(plainProtocol)}`);
  }
  if (deleteDelay !== undefined && (!Number.isInteger(deleteDelay) || deleteDelay < 0 || deleteDelay > 86_400)) {
    invalid(`rtpengine: deleteDelay must be 0-86400 seconds, got ${String(deleteDelay)}`);
  }
  if (flags !== undefined && (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string' || f === ''))) {
    invalid('rtpengine: flags must be a list of non-empty strings');
  }
}
