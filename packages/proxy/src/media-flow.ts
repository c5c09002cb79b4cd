/**
 * Where the proxy meets the media relay (Net::SIP's `do_nat`, reference §1.9): SDP offers in
 * INVITE/UPDATE (and late offers in 18x/2xx), answers in 18x/2xx (and in the ACK of a late
 * offer), the end of the call's media on BYE, CANCEL and a refused INVITE. Called just before a
 * message that changes legs is delivered.
 *
 * @see RFC 3264 §4–§8, RFC 3261 §13.2.1 (where offers and answers travel), §14 (re-INVITE)
 */
import type { Leg } from '@sipway/sip-leg';
import type { SipMessage, SipRequest, SipResponse } from '@sipway/sip-message';
import type { MediaCall, MediaDeleteReason, MediaRelay, MediaSide } from './media.js';
import type { ProxyLogger } from './options.js';

/** Entries per generation of the "this transaction's request carried the offer" memory. */
const OFFERS_PER_GENERATION = 5000;

export class MediaFlow {
  readonly #relay: MediaRelay;
  readonly #force: boolean;
  readonly #logger: ProxyLogger | undefined;
  readonly #sides = new WeakMap<Leg, MediaSide>();
  /**
   * `callId \0 cseq` of requests that carried an offer, so the SDP of their answers is an answer
   * and not a late offer. Two generations (Net::SIP's way): bounded, no timers.
   */
  #offers = new Set<string>();
  #older = new Set<string>();

  constructor(relay: MediaRelay, force: boolean, logger: ProxyLogger | undefined) {
    this.#relay = relay;
    this.#force = force;
    this.#logger = logger;
  }

  /** Edits a request's SDP for `outLeg`; returns why it failed (the proxy answers 503), or undefined. */
  async request(request: SipRequest, inLeg: Leg, outLeg: Leg): Promise<string | undefined> {
    if (inLeg === outLeg && !this.#force) return undefined;
    const method = request.method;
    if (method === 'BYE') {
      this.#delete(request, 'bye');
      return undefined;
    }
    if (method === 'CANCEL') {
      this.#delete(request, 'cancel');
      return undefined;
    }
    if (method !== 'INVITE' && method !== 'UPDATE' && method !== 'ACK') return undefined;
    const sdp = sdpOf(request);
    if (sdp === undefined) return undefined;
    const callId = request.callId ?? '';
    const fromTag = request.from?.tag ?? '';
    const toTag = request.to?.tag;
    const cseq = request.cseq?.seq;
    const from = this.#side(inLeg);
    const to = this.#side(outLeg);
    try {
      let body: string;
      if (method === 'ACK') {
        // The answer to a late offer (made by the callee, the To party, RFC 3261 §13.2.1).
        body = await this.#relay.answer(sdp, call(callId, toTag ?? '', fromTag, cseq), from, to);
      } else {
        body = await this.#relay.offer(sdp, call(callId, fromTag, toTag, cseq), from, to);
        this.#remember(`${callId}\0${cseq}`);
      }
      setSdp(request, body);
      return undefined;
    } catch (error) {
      return this.#failed(request, error);
    }
  }

  /** Edits a response's SDP for the leg it goes back on; returns why it failed (the proxy drops it), or undefined. */
  async response(response: SipResponse, inLeg: Leg, outLeg: Leg): Promise<string | undefined> {
    if (inLeg === outLeg && !this.#force) return undefined;
    const cseq = response.cseq;
    if (cseq === undefined || (cseq.method !== 'INVITE' && cseq.method !== 'UPDATE')) return undefined;
    const status = response.status;
    if (status < 101) return undefined;
    const callId = response.callId ?? '';
    const fromTag = response.from?.tag ?? '';
    const toTag = response.to?.tag;
    if (status >= 300) {
      // Net::SIP closes the session on an error answer to INVITE; for a re-INVITE the relay
      // keeps the media agreed before (the CSeq tells them apart).
      this.#delete(response, 'rejected');
      return undefined;
    }
    const sdp = sdpOf(response);
    if (sdp === undefined) return undefined;
    const from = this.#side(inLeg);
    const to = this.#side(outLeg);
    const key = `${callId}\0${cseq.seq}`;
    try {
      const body =
        this.#offers.has(key) || this.#older.has(key)
          ? await this.#relay.answer(sdp, call(callId, fromTag, toTag, cseq.seq), from, to)
          : // The request had no SDP: this is the callee's (late) offer; the ACK will answer it.
            await this.#relay.offer(sdp, call(callId, toTag ?? '', fromTag, cseq.seq), from, to);
      setSdp(response, body);
      return undefined;
    } catch (error) {
      return this.#failed(response, error);
    }
  }

  #delete(message: SipMessage, reason: MediaDeleteReason): void {
    const c = call(message.callId ?? '', message.from?.tag ?? '', message.to?.tag, message.cseq?.seq);
    this.#relay.delete(c, reason).catch((error: unknown) => {
      this.#logger?.warn?.({ callId: c.callId, reason, error: String(error) }, 'media relay delete failed');
    });
  }

  #failed(message: SipMessage, error: unknown): string {
    const code = (error as { code?: unknown } | null)?.code;
    const detail = `media relay failed: ${error instanceof Error ? error.message : String(error)}`;
    this.#logger?.warn?.({ callId: message.callId, code: typeof code === 'string' ? code : undefined, error: detail }, 'media relay failed');
    return detail;
  }

  #remember(key: string): void {
    if (this.#offers.size >= OFFERS_PER_GENERATION) {
      this.#older = this.#offers;
      this.#offers = new Set();
    }
    this.#offers.add(key);
  }

  #side(leg: Leg): MediaSide {
    let side = this.#sides.get(leg);
    if (side === undefined) {
      const host = leg.family === 6 ? `[${leg.address}]` : leg.address;
      side = { leg: `${leg.transport}:${host}:${leg.port}`, address: leg.address, transport: leg.transport, family: leg.family };
      if (leg.transport === 'ws' || leg.transport === 'wss') side.webrtc = true;
      this.#sides.set(leg, side);
    }
    return side;
  }
}

function call(callId: string, fromTag: string, toTag: string | undefined, cseq: number | undefined): MediaCall {
  const c: MediaCall = { callId, fromTag };
  if (toTag !== undefined) c.toTag = toTag;
  if (cseq !== undefined) c.cseq = cseq;
  return c;
}

/** The body when it is SDP (a multipart body is not looked into). */
function sdpOf(message: SipMessage): string | undefined {
  const body = message.body;
  if (body.length === 0) return undefined;
  const type = message.getHeader('content-type');
  if (type === undefined || !/^\s*application\/sdp\s*(;|$)/i.test(type)) return undefined;
  // latin1 both ways: every byte the relay leaves alone goes out as it came.
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
}

function setSdp(message: SipMessage, sdp: string): void {
  message.setBody(Buffer.from(sdp, 'latin1'));
}
