import { afterEach, describe, expect, it } from 'vitest';
import type { SipMessage } from '@sipway/sip-message';
import { StatelessProxy } from '../src/index.js';
import type { MediaCall, MediaDeleteReason, MediaRelay, MediaSide } from '../src/index.js';
import { harness, invite, msg } from './helpers.js';
import type { Harness } from './helpers.js';

// The proxy's side of the MediaRelay contract: which method it calls with which ids and sides,
// and what it does with the result. The relay is a recorder here; @sipway/media-relay's tests and
// the example's end-to-end tests drive the real one.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Recorded =
  | { op: 'offer' | 'answer'; sdp: string; call: MediaCall; from: MediaSide; to: MediaSide }
  | { op: 'delete'; call: MediaCall; reason: MediaDeleteReason | undefined };

class RecordingRelay implements MediaRelay {
  readonly calls: Recorded[] = [];
  fail: 'offer' | 'answer' | undefined;
  async offer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    this.calls.push({ op: 'offer', sdp, call, from, to });
    if (this.fail === 'offer') throw Object.assign(new Error('no ports'), { code: 'MEDIA_NO_PORTS', status: 503 });
    return sdp.replace(/c=IN IP4 \S+/, `c=IN IP4 ${to.address}`).replace(/m=audio \d+/, 'm=audio 40000');
  }
  async answer(sdp: string, call: MediaCall, from: MediaSide, to: MediaSide): Promise<string> {
    this.calls.push({ op: 'answer', sdp, call, from, to });
    if (this.fail === 'answer') throw new Error('no session');
    return sdp.replace(/c=IN IP4 \S+/, `c=IN IP4 ${to.address}`).replace(/m=audio \d+/, 'm=audio 40002');
  }
  async delete(call: MediaCall, reason?: MediaDeleteReason): Promise<void> {
    this.calls.push({ op: 'delete', call, reason });
  }
  async close(): Promise<void> {}
}

const SDP = (address: string, port: number) => `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;

function withSdp(lines: string[], sdp: string): string[] {
  return [...lines, 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(sdp)}`];
}

function answerTo(request: SipMessage, status: string, extra: string[] = [], body = ''): string {
  return (
    msg(
      `SIP/2.0 ${status}`,
      ...request.getHeaders('via').map((v) => `Via: ${v}`),
      ...request.getHeaders('record-route').map((v) => `Record-Route: ${v}`),
      `From: ${request.getHeader('from')}`,
      `To: ${request.getHeader('to')}${request.to?.tag === undefined ? ';tag=222' : ''}`,
      `Call-ID: ${request.callId}`,
      `CSeq: ${request.getHeader('cseq')}`,
      ...extra,
    ) + body
  );
}

const INSIDE = { leg: 'udp:127.0.0.1:15060', address: '127.0.0.1', transport: 'udp', family: 4 };
const OUTSIDE = { leg: 'udp:127.0.0.2:15060', address: '127.0.0.2', transport: 'udp', family: 4 };

async function twoLegs(relay: MediaRelay, extra: Record<string, unknown> = {}) {
  h = await harness(
    [
      { address: '127.0.0.1', port: 15060, peers: ['127.0.0.1'] },
      { address: '127.0.0.2', port: 15060, peers: ['127.0.0.3'] },
    ],
    { domains: ['example.com'], mediaRelay: relay, ...extra },
  );
  const uac = await h.peer('127.0.0.1', 16000);
  const uas = await h.peer('127.0.0.3', 17000);
  return { h, legA: h.legs[0]!, uac, uas };
}

/** What the recording relay makes of an SDP: c= and m= port changed, every other line kept. */
const relayed = (sdp: string, address: string, port: number) => sdp.replace(/c=IN IP4 \S+/, `c=IN IP4 ${address}`).replace(/m=audio \d+/, `m=audio ${port}`);

const body = (m: SipMessage) => Buffer.from(m.body).toString('latin1');

describe('StatelessProxy with a mediaRelay', () => {
  it('offer in the INVITE, answer in the 200: ids, sides, and the rewritten bodies with their Content-Length', async () => {
    const relay = new RecordingRelay();
    const { legA, uac, uas } = await twoLegs(relay);
    const offer = SDP('127.0.0.1', 4000);
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', withSdp([], offer)) + offer, legA);
    const inv = await uas.waitFor(0);
    expect(relay.calls[0]).toEqual({ op: 'offer', sdp: offer, call: { callId: 'call1@127.0.0.1', fromTag: '111', cseq: 1 }, from: INSIDE, to: OUTSIDE });
    expect(body(inv)).toBe(relayed(offer, '127.0.0.2', 40000));
    expect(inv.contentLength).toBe(inv.body.length);

    const answer = SDP('127.0.0.3', 5000);
    await uas.send(answerTo(inv, '200 OK', ['Contact: <sip:bob@127.0.0.3:17000>', 'Content-Type: application/sdp', `Content-Length: ${answer.length}`], answer), h!.legs[1]!);
    const ok = await uac.waitFor(0);
    expect(relay.calls[1]).toEqual({ op: 'answer', sdp: answer, call: { callId: 'call1@127.0.0.1', fromTag: '111', toTag: '222', cseq: 1 }, from: OUTSIDE, to: INSIDE });
    expect(body(ok)).toBe(relayed(answer, '127.0.0.1', 40002));
  });

  it('a late offer in the 200 comes from the callee (tags swapped) and the ACK carries its answer', async () => {
    const relay = new RecordingRelay();
    const { legA, uac, uas } = await twoLegs(relay);
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000'), legA);
    const inv = await uas.waitFor(0);
    expect(relay.calls).toEqual([]);
    const offer = SDP('127.0.0.3', 5000);
    await uas.send(answerTo(inv, '200 OK', ['Contact: <sip:bob@127.0.0.3:17000>', 'Content-Type: application/sdp', `Content-Length: ${offer.length}`], offer), h!.legs[1]!);
    const ok = await uac.waitFor(0);
    expect(relay.calls[0]).toMatchObject({ op: 'offer', call: { fromTag: '222', toTag: '111', cseq: 1 }, from: OUTSIDE, to: INSIDE });
    expect(body(ok)).toBe(relayed(offer, '127.0.0.1', 40000));
    const contact = /<([^>]+)>/.exec(ok.getHeader('contact')!)![1]!;
    const rr = ok.getHeaders('record-route').flatMap((v) => v.split(/,\s*/)).reverse();
    const answer = SDP('127.0.0.1', 4000);
    await uac.send(
      msg(
        `ACK ${contact} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKack1;rport',
        'Max-Forwards: 70',
        ...rr.map((r) => `Route: ${r}`),
        'From: "Alice" <sip:alice@example.com>;tag=111',
        'To: <sip:bob@example.com>;tag=222',
        'Call-ID: call1@127.0.0.1',
        'CSeq: 1 ACK',
        'Content-Type: application/sdp',
        `Content-Length: ${answer.length}`,
      ) + answer,
      legA,
    );
    const ack = await uas.waitFor(1);
    expect(relay.calls[1]).toMatchObject({ op: 'answer', call: { fromTag: '222', toTag: '111', cseq: 1 }, from: INSIDE, to: OUTSIDE });
    expect(body(ack)).toBe(relayed(answer, '127.0.0.2', 40002));
  });

  it('BYE, CANCEL and a ≥ 300 answer to INVITE end the media (with the reason and the CSeq)', async () => {
    const relay = new RecordingRelay();
    const { legA, uac, uas } = await twoLegs(relay);
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', [], { method: 'CANCEL' }), legA);
    await uas.waitFor(0);
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', ['Route: <sip:127.0.0.2:15060;lr>'], { method: 'BYE', cseq: 2 }), legA);
    await uas.waitFor(1);
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', [], { cseq: 3 }), legA);
    const inv = await uas.waitFor(2);
    await uas.send(answerTo(inv, '486 Busy Here'), h!.legs[1]!);
    await uac.waitFor(0);
    expect(relay.calls).toEqual([
      { op: 'delete', call: { callId: 'call1@127.0.0.1', fromTag: '111', cseq: 1 }, reason: 'cancel' },
      { op: 'delete', call: { callId: 'call1@127.0.0.1', fromTag: '111', cseq: 2 }, reason: 'bye' },
      { op: 'delete', call: { callId: 'call1@127.0.0.1', fromTag: '111', toTag: '222', cseq: 3 }, reason: 'rejected' },
    ]);
  });

  it('an offer the relay cannot take is answered 503 and not forwarded; an answer it cannot take is dropped', async () => {
    const relay = new RecordingRelay();
    relay.fail = 'offer';
    const { legA, uac, uas } = await twoLegs(relay);
    const offer = SDP('127.0.0.1', 4000);
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', withSdp([], offer)) + offer, legA);
    const refused = await uac.waitFor(0);
    expect(refused.isRequest ? 0 : refused.status).toBe(503);
    expect(h!.outcomes[0]).toMatchObject({ ok: false, status: 503, code: 'media-failed' });
    expect(uas.inbox).toHaveLength(0);

    relay.fail = undefined;
    await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', withSdp([], offer), { callId: 'call3' }) + offer, legA);
    const inv = await uas.waitFor(0);
    relay.fail = 'answer';
    const answer = SDP('127.0.0.3', 5000);
    const before = h!.outcomes.length;
    await uas.send(answerTo(inv, '200 OK', ['Content-Type: application/sdp', `Content-Length: ${answer.length}`], answer), h!.legs[1]!);
    const outcome = await h!.settled(before + 1);
    expect(outcome).toMatchObject({ ok: false, code: 'media-failed' });
    expect(uac.inbox.filter((m) => !m.isRequest && m.status === 200)).toHaveLength(0);
  });

  it('leaves a message alone when it stays on its leg, unless forceMedia', async () => {
    for (const forceMedia of [false, true]) {
      const relay = new RecordingRelay();
      h = await harness([{ address: '127.0.0.1', port: 15060 }], { domains: ['example.com'], mediaRelay: relay, forceMedia });
      const uac = await h.peer('127.0.0.1', 16000);
      const uas = await h.peer('127.0.0.3', 17000);
      const offer = SDP('127.0.0.1', 4000);
      await uac.send(invite('sip:bob@127.0.0.3:17000', '127.0.0.1:16000', withSdp([], offer)) + offer, h.legs[0]!);
      const inv = await uas.waitFor(0);
      expect(relay.calls.map((c) => c.op)).toEqual(forceMedia ? ['offer'] : []);
      expect(body(inv)).toBe(forceMedia ? relayed(offer, '127.0.0.1', 40000) : offer);
      await h.close();
      h = undefined;
    }
  });

  it('refuses a mediaRelay without offer/answer', () => {
    expect(() => new StatelessProxy({ dispatcher: { deliver() {} } as never, mediaRelay: {} as never })).toThrow(/mediaRelay must have offer, answer and delete/);
  });
});
