import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { pinoCapture, until } from '@sipway/test-peers';
import { BuiltinMediaRelay, MEDIA_CHANNELS, MediaRelayError } from '../src/index.js';
import type { MediaCall, MediaSide } from '../src/index.js';

const relays: BuiltinMediaRelay[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const r of relays.splice(0)) await r.close();
  for (const s of sockets.splice(0)) s.close();
});

function range(size = 40): { portMin: number; portMax: number } {
  const portMin = 42000 + 2 * Math.floor(Math.random() * 8000);
  return { portMin, portMax: portMin + size - 1 };
}

function relay(options: ConstructorParameters<typeof BuiltinMediaRelay>[0] = {}): BuiltinMediaRelay {
  const r = new BuiltinMediaRelay({ ...range(), ...options });
  relays.push(r);
  return r;
}

interface Peer {
  socket: Socket;
  port: number;
  got: Array<{ data: string; from: RemoteInfo }>;
}

async function peer(address = '127.0.0.1'): Promise<Peer> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  const p: Peer = { socket, port: socket.address().port, got: [] };
  socket.on('message', (b, from) => p.got.push({ data: b.toString(), from }));
  return p;
}

function send(p: Peer, to: { address: string; port: number }, data: string): void {
  p.socket.send(Buffer.from(data), to.port, to.address);
}

const INSIDE: MediaSide = { leg: 'udp:127.0.0.1:5060', address: '127.0.0.1', transport: 'udp', family: 4 };
const OUTSIDE: MediaSide = { leg: 'udp:127.0.0.2:5060', address: '127.0.0.2', transport: 'udp', family: 4 };
const V6: MediaSide = { leg: 'udp:[::1]:5060', address: '::1', transport: 'udp', family: 6 };

function audio(address: string, port: number, extra: string[] = []): string {
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  return ['v=0', `o=- 1 1 IN ${ip} ${address}`, 's=-', `c=IN ${ip} ${address}`, 't=0 0', `m=audio ${port} RTP/AVP 0`, ...extra, ''].join('\r\n');
}

function at(sdp: string): { address: string; port: number; rtcp: number } {
  const port = Number(/^m=audio (\d+)/m.exec(sdp)![1]);
  return { address: /^c=IN IP[46] (\S+)/m.exec(sdp)![1]!, port, rtcp: Number(/^a=rtcp:(\d+)/m.exec(sdp)?.[1] ?? port + 1) };
}

const CALL: MediaCall = { callId: 'c1@test', fromTag: 'caller', cseq: 1 };
const ANSWER: MediaCall = { callId: 'c1@test', fromTag: 'caller', toTag: 'callee', cseq: 1 };

/** Offer A → B, answer B → A; returns where each side sends. */
async function established(r: BuiltinMediaRelay, a: Peer, b: Peer, sides: [MediaSide, MediaSide] = [INSIDE, OUTSIDE], aSdpAddress?: string) {
  const offered = await r.offer(audio(aSdpAddress ?? sides[0].address, a.port), CALL, sides[0], sides[1]);
  const answered = await r.answer(audio(sides[1].address, b.port), ANSWER, sides[1], sides[0]);
  return { bSendsTo: at(offered), aSendsTo: at(answered) };
}

describe('BuiltinMediaRelay', () => {
  it('forwards RTP and RTCP both ways, from the socket on each side’s leg, once answered', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const offered = await r.offer(audio('127.0.0.1', a.port), CALL, INSIDE, OUTSIDE);
    const toward = at(offered);
    expect(toward.address).toBe('127.0.0.2');
    // Before the answer nothing flows (the session is not active).
    send(b, toward, 'early');
    await new Promise((res) => setTimeout(res, 50)); // nothing may arrive: the window of the assertion
    expect(a.got).toHaveLength(0);
    expect(r.stats().dropped).toBe(1);

    const back = at(await r.answer(audio('127.0.0.2', b.port), ANSWER, OUTSIDE, INSIDE));
    expect(back.address).toBe('127.0.0.1');
    send(a, back, 'a->b');
    send(b, toward, 'b->a');
    await until(() => a.got.length === 1 && b.got.length === 1);
    expect(b.got[0]).toMatchObject({ data: 'a->b', from: { address: '127.0.0.2', port: toward.port } });
    expect(a.got[0]).toMatchObject({ data: 'b->a', from: { address: '127.0.0.1', port: back.port } });
    expect(r.stats()).toMatchObject({ sessions: 1, sockets: 4, packets: 2, bytes: 8 });
  });

  it('writes the session close with its fields to a pino logger passed straight in', async () => {
    const { logger, lines } = pinoCapture();
    const r = relay({ logger });
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    await established(r, a, b);
    await r.delete(CALL, 'bye');
    await until(() => lines.some((l) => l.msg === 'media session closed'), 5000, 'the close line');
    expect(lines.find((l) => l.msg === 'media session closed')).toMatchObject({ level: 20, callId: CALL.callId, reason: 'bye' });
  });

  it('sends RTCP to the a=rtcp port (RFC 3605) and announces its own there', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const aRtcp = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const offered = await r.offer(audio('127.0.0.1', a.port, [`a=rtcp:${aRtcp.port}`]), CALL, INSIDE, OUTSIDE);
    const toward = at(offered);
    expect(toward.rtcp).toBe(toward.port + 1);
    const back = at(await r.answer(audio('127.0.0.2', b.port), ANSWER, OUTSIDE, INSIDE));
    send(b, { address: toward.address, port: toward.rtcp }, 'rtcp');
    await until(() => aRtcp.got.length === 1);
    // From the relay's RTCP socket on A's side (the port after the RTP one it announced).
    expect(aRtcp.got[0]!.from).toMatchObject({ address: '127.0.0.1', port: back.port + 1 });
    expect(a.got).toHaveLength(0);
  });

  it('latches: media goes to where a party really sends from, not to the private address its SDP names', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    // A's SDP names 10.99.0.1 (behind a NAT); its packets come from 127.0.0.1:a.port.
    const { aSendsTo, bSendsTo } = await established(r, a, b, [INSIDE, OUTSIDE], '10.99.0.1');
    send(a, aSendsTo, 'hello');
    await until(() => b.got.length === 1);
    send(b, bSendsTo, 'reply');
    await until(() => a.got.length === 1);
    expect(a.got[0]!.data).toBe('reply');
    // Once latched, another source on the same port is ignored (dropped by the relay, or by the
    // kernel once the socket is connected to the latched peer).
    const intruder = await peer('127.0.0.1');
    send(intruder, aSendsTo, 'spoof');
    await new Promise((res) => setTimeout(res, 50)); // the spoof is handled before 'again' is sent
    send(a, aSendsTo, 'again');
    await until(() => b.got.length === 2);
    expect(b.got.map((p) => p.data)).toEqual(['hello', 'again']);
  });

  it('a re-offer keeps the sockets and moves the media when answered; a refused one changes nothing', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const { aSendsTo, bSendsTo } = await established(r, a, b);
    const a2 = await peer('127.0.0.1');
    // re-INVITE from the callee this time (its tag is the From tag), moving nothing on its side.
    const reCall: MediaCall = { callId: CALL.callId, fromTag: 'callee', toTag: 'caller', cseq: 101 };
    const reOffer = at(await r.offer(audio('127.0.0.2', b.port), reCall, OUTSIDE, INSIDE));
    expect(reOffer.port).toBe(aSendsTo.port);
    // The caller answers with its new port; until then media goes to the old one.
    send(b, bSendsTo, 'before');
    await until(() => a.got.length === 1);
    const reAnswer = at(await r.answer(audio('127.0.0.1', a2.port), { ...reCall }, INSIDE, OUTSIDE));
    expect(reAnswer.port).toBe(bSendsTo.port);
    send(b, bSendsTo, 'after');
    await until(() => a2.got.length === 1);
    expect(a.got.map((p) => p.data)).toEqual(['before']);
    expect(r.stats().sockets).toBe(4);

    // A refused re-INVITE (488) leaves the media as agreed.
    await r.offer(audio('127.0.0.1', a.port), { callId: CALL.callId, fromTag: 'caller', toTag: 'callee', cseq: 2 }, INSIDE, OUTSIDE);
    await r.delete({ callId: CALL.callId, fromTag: 'caller', toTag: 'callee', cseq: 2 }, 'rejected');
    expect(r.sessions).toBe(1);
    send(b, bSendsTo, 'still');
    await until(() => a2.got.length === 2);
  });

  it('a retransmitted offer arriving while the first one binds gets the same sockets', async () => {
    const r = relay();
    const sdp = audio('127.0.0.1', 4000) + 'm=video 4002 RTP/AVP 96\r\n';
    const [one, two] = await Promise.all([r.offer(sdp, CALL, INSIDE, OUTSIDE), r.offer(sdp, CALL, INSIDE, OUTSIDE)]);
    expect(two).toBe(one);
    expect(r.stats().sockets).toBe(8);
    await r.delete(CALL, 'bye');
    expect(r.stats().sockets).toBe(0);
  });

  it('hold with c=0.0.0.0 stops media toward the held party', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const { bSendsTo } = await established(r, a, b);
    const hold: MediaCall = { callId: CALL.callId, fromTag: 'caller', toTag: 'callee', cseq: 2 };
    const held = await r.offer(audio('0.0.0.0', a.port, ['a=sendonly']), hold, INSIDE, OUTSIDE);
    expect(held).toContain('c=IN IP4 0.0.0.0\r\n');
    await r.answer(audio('127.0.0.2', b.port, ['a=recvonly']), hold, OUTSIDE, INSIDE);
    send(b, bSendsTo, 'to a held phone');
    await until(() => r.stats().dropped === 1);
    expect(a.got).toHaveLength(0);
  });

  it('a late offer in the 2xx (from the callee) is answered in the ACK', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    // The INVITE had no SDP; the 200's offer comes from the callee: fromTag is the To tag.
    const late: MediaCall = { callId: 'late@test', fromTag: 'callee', toTag: 'caller', cseq: 1 };
    const toCaller = at(await r.offer(audio('127.0.0.2', b.port), late, OUTSIDE, INSIDE));
    expect(toCaller.address).toBe('127.0.0.1');
    const toCallee = at(await r.answer(audio('127.0.0.1', a.port), late, INSIDE, OUTSIDE));
    expect(toCallee.address).toBe('127.0.0.2');
    send(a, toCaller, 'x');
    await until(() => b.got.length === 1);
  });

  it('IPv6 on one side, IPv4 on the other', async () => {
    const r = relay();
    const a = await peer('::1');
    const b = await peer('127.0.0.2');
    const offered = await r.offer(audio('::1', a.port), CALL, V6, OUTSIDE);
    expect(offered).toContain('c=IN IP4 127.0.0.2\r\n');
    const answered = await r.answer(audio('127.0.0.2', b.port), ANSWER, OUTSIDE, V6);
    expect(answered).toContain('c=IN IP6 ::1\r\n');
    send(a, at(answered), 'v6->v4');
    await until(() => b.got.length === 1);
    send(b, at(offered), 'v4->v6');
    await until(() => a.got.length === 1);
    expect(a.got[0]!.from.address).toBe('::1');
  });

  it('delete (BYE) closes every socket; CANCEL and a refused INVITE of the call do too; idempotent', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    await established(r, a, b);
    await r.delete({ callId: CALL.callId, fromTag: 'callee', cseq: 102 }, 'bye');
    expect(r.stats()).toMatchObject({ sessions: 0, sockets: 0 });
    await r.delete(CALL, 'bye');
    await r.offer(audio('127.0.0.1', a.port), CALL, INSIDE, OUTSIDE);
    await r.delete(CALL, 'cancel');
    expect(r.stats().sockets).toBe(0);
    await r.offer(audio('127.0.0.1', a.port), CALL, INSIDE, OUTSIDE);
    await r.delete({ ...ANSWER }, 'rejected');
    expect(r.stats()).toMatchObject({ sessions: 0, sockets: 0, opened: 3, closed: 3 });
    await expect(r.answer(audio('127.0.0.2', b.port), ANSWER, OUTSIDE, INSIDE)).rejects.toMatchObject({ code: 'MEDIA_NO_SESSION', status: 503 });
  });

  it('an answer that disables a stream (port 0) releases its sockets; a different number of m= lines is refused', async () => {
    const r = relay();
    const a = await peer('127.0.0.1');
    const two = audio('127.0.0.1', a.port) + 'm=video 7000 RTP/AVP 96\r\n';
    await r.offer(two, CALL, INSIDE, OUTSIDE);
    expect(r.stats().sockets).toBe(8);
    await expect(r.answer(audio('127.0.0.2', 6000), ANSWER, OUTSIDE, INSIDE)).rejects.toMatchObject({ code: 'MEDIA_BAD_SDP' });
    const answer = await r.answer(audio('127.0.0.2', 6000) + 'm=video 0 RTP/AVP 96\r\n', ANSWER, OUTSIDE, INSIDE);
    expect(answer).toContain('m=video 0 RTP/AVP 96\r\n');
    expect(r.stats().sockets).toBe(4);
  });

  it('idle calls expire, unanswered offers too', async () => {
    const r = relay({ idleTimeout: 200, offerTimeout: 300, sweepInterval: 20 });
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const closed: unknown[] = [];
    const onSession = (e: unknown) => {
      if ((e as { event: string }).event === 'close') closed.push(e);
    };
    subscribe(MEDIA_CHANNELS.session, onSession);
    try {
      await established(r, a, b);
      await r.offer(audio('127.0.0.1', a.port), { callId: 'unanswered', fromTag: 'x', cseq: 1 }, INSIDE, OUTSIDE);
      await until(() => r.sessions === 0, 5000);
      expect(r.stats().sockets).toBe(0);
      expect(closed).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ callId: CALL.callId, reason: 'idle' }),
          expect.objectContaining({ callId: 'unanswered', reason: 'unanswered' }),
        ]),
      );
    } finally {
      unsubscribe(MEDIA_CHANNELS.session, onSession);
    }
  });

  it('publishes traffic counters about once per sweep', async () => {
    const r = relay({ sweepInterval: 20 });
    const events: Array<{ packets: number; bytes: number }> = [];
    const onTraffic = (e: unknown) => events.push(e as { packets: number; bytes: number });
    subscribe(MEDIA_CHANNELS.traffic, onTraffic);
    try {
      const a = await peer('127.0.0.1');
      const b = await peer('127.0.0.2');
      const { aSendsTo } = await established(r, a, b);
      for (let i = 0; i < 5; i++) send(a, aSendsTo, '0123456789');
      await until(() => events.reduce((n, e) => n + e.packets, 0) === 5);
      expect(events.reduce((n, e) => n + e.bytes, 0)).toBe(50);
    } finally {
      unsubscribe(MEDIA_CHANNELS.traffic, onTraffic);
    }
  });

  it('limits: maxSessions, maxSockets and the port range give MEDIA_LIMIT / MEDIA_NO_PORTS (503), and nothing leaks', async () => {
    const r1 = relay({ maxSessions: 1 });
    await r1.offer(audio('127.0.0.1', 4000), CALL, INSIDE, OUTSIDE);
    await expect(r1.offer(audio('127.0.0.1', 4000), { callId: 'two', fromTag: 't' }, INSIDE, OUTSIDE)).rejects.toMatchObject({ code: 'MEDIA_LIMIT', status: 503 });
    const r2 = relay({ maxSockets: 6 });
    await expect(r2.offer(audio('127.0.0.1', 4000) + 'm=video 4002 RTP/AVP 96\r\n', CALL, INSIDE, OUTSIDE)).rejects.toMatchObject({ code: 'MEDIA_LIMIT' });
    expect(r2.stats()).toMatchObject({ sessions: 0, sockets: 0 });
    // Two pairs in the range, one call takes both (one per side).
    const r3 = relay({ ...range(4) });
    await r3.offer(audio('127.0.0.1', 4000), CALL, INSIDE, OUTSIDE);
    const err = await r3.offer(audio('127.0.0.1', 4000), { callId: 'two', fromTag: 't' }, INSIDE, INSIDE).catch((e: unknown) => e);
    expect(MediaRelayError.isInstance(err) && err.code).toBe('MEDIA_NO_PORTS');
    expect(r3.stats()).toMatchObject({ sessions: 1, sockets: 4 });
  });

  it('refuses a leg without a usable address, a closed relay and bad options', async () => {
    const r = relay();
    const wild: MediaSide = { ...INSIDE, address: '0.0.0.0' };
    await expect(r.offer(audio('127.0.0.1', 4000), CALL, wild, OUTSIDE)).rejects.toMatchObject({ code: 'MEDIA_NO_PORTS' });
    await r.close();
    await r.close();
    await expect(r.offer(audio('127.0.0.1', 4000), CALL, INSIDE, OUTSIDE)).rejects.toMatchObject({ code: 'MEDIA_CLOSED' });
    expect(() => new BuiltinMediaRelay({ portMin: 5000, portMax: 5000 })).toThrow(/no RTP\/RTCP pair/);
    expect(() => new BuiltinMediaRelay({ portMin: 80 })).toThrow(/portMin/);
    expect(() => new BuiltinMediaRelay({ bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
  });
});
