import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine, until, type RtpengineDaemon } from '@sipway/test-peers';
import { RtpengineError, RtpengineMediaRelay, type MediaSide } from '../src/index.js';
import { hasAttribute, plainSdp, readSdp, rtpEndpoint, webrtcSdp, type RtpEndpoint } from './rtpengine-endpoints.js';

// The media relay against a real rtpengine (userspace, loopback): SDPs rewritten per side, real
// RTP relayed both ways, delete frees the ports, WebRTC <-> plain RTP offers and answers, IPv6,
// a multi-homed rtpengine, several proxies on one rtpengine, and its refusals.

const inside: MediaSide = { leg: 'inside', address: '127.0.0.1', transport: 'udp', family: 4 };
const outside: MediaSide = { leg: 'outside', address: '127.0.0.2', transport: 'tcp', family: 4 };
const browser: MediaSide = { leg: 'ws', address: '127.0.0.1', transport: 'wss', family: 4 };

let daemon: RtpengineDaemon;
let relay: RtpengineMediaRelay;
let n = 0;
const nextCall = (): { callId: string; fromTag: string; toTag: string } => {
  n++;
  return { callId: `call-${n}@test`, fromTag: `from-${n}`, toTag: `to-${n}` };
};

beforeAll(async () => {
  daemon = await startRtpengine();
  relay = await RtpengineMediaRelay.start({ host: daemon.host, port: daemon.port, deleteDelay: 0 });
});
afterAll(async () => {
  await relay?.close();
  await daemon?.stop();
});

/** True while rtpengine holds host:port (our bind fails with EADDRINUSE). */
async function portInUse(host: string, port: number): Promise<boolean> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(true);
    });
    socket.bind(port, host, () => socket.close(() => resolve(false)));
  });
}

/** Each side sends 100 packets at 20 ms to the address its SDP names; both directions at once. */
async function exchange(a: RtpEndpoint, aSees: string, b: RtpEndpoint, bSees: string): Promise<void> {
  const forA = readSdp(aSees);
  const forB = readSdp(bSees);
  await Promise.all([a.send(forA.address, forA.port, 100), b.send(forB.address, forB.port, 100)]);
  await until(() => a.received.length >= 95 && b.received.length >= 95, 5000, 'relayed RTP').catch(() => undefined);
}

async function rejection(p: Promise<unknown>): Promise<RtpengineError> {
  try {
    await p;
  } catch (error) {
    expect(RtpengineError.isInstance(error)).toBe(true);
    return error as RtpengineError;
  }
  throw new Error('expected a rejection');
}

describe('plain RTP on both sides', () => {
  it('rewrites both SDPs to rtpengine, relays at least 95 of 100 packets each way from its address, and delete frees the ports', async () => {
    const call = nextCall();
    const a = await rtpEndpoint('127.0.0.1');
    const b = await rtpEndpoint('127.0.0.1');
    const offer = plainSdp(a.address, a.port);
    const forB = await relay.offer(offer, call, inside, outside);
    const answer = plainSdp(b.address, b.port, '7');
    const forA = await relay.answer(answer, call, outside, inside);

    for (const [sdp, own] of [
      [forB, a.port],
      [forA, b.port],
    ] as const) {
      const view = readSdp(sdp);
      expect(view.protocol).toBe('RTP/AVP');
      expect(view.address).toBe('127.0.0.1');
      expect(view.port).toBeGreaterThanOrEqual(daemon.portMin);
      expect(view.port).toBeLessThanOrEqual(daemon.portMax);
      expect(view.port).not.toBe(own);
      expect(hasAttribute(view, 'candidate')).toBe(false);
      expect(hasAttribute(view, 'rtcp-mux')).toBe(false);
      expect(view.attributes).toContain(`rtcp:${view.port + 1}`);
      expect(view.lines).toContain('a=rtpmap:0 PCMU/8000');
    }
    const portForB = readSdp(forB).port;
    const portForA = readSdp(forA).port;
    expect(await portInUse('127.0.0.1', portForB)).toBe(true);

    await exchange(a, forA, b, forB);
    expect(a.received.length).toBeGreaterThanOrEqual(95);
    expect(b.received.length).toBeGreaterThanOrEqual(95);
    // Each side hears the relay at the very address and port its SDP names (symmetric RTP).
    expect(new Set(b.received.map((p) => `${p.from}:${p.port}`))).toEqual(new Set([`127.0.0.1:${portForB}`]));
    expect(new Set(a.received.map((p) => `${p.from}:${p.port}`))).toEqual(new Set([`127.0.0.1:${portForA}`]));

    await relay.delete(call);
    await until(async () => !(await portInUse('127.0.0.1', portForB)) && !(await portInUse('127.0.0.1', portForA)), 5000, 'ports freed');
    const query = await rejection(relay.client.request({ command: 'query', 'call-id': call.callId }));
    expect(query.reason).toMatch(/Unknown call-id/i);
    // After delete nothing is relayed any more.
    const before = b.received.length;
    await a.send('127.0.0.1', portForA, 5, 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.received.length).toBe(before);
    // Idempotent: a second delete (BYE retransmitted, CANCEL after BYE) is fine.
    await relay.delete(call);
    await relay.delete({ callId: 'never-seen', fromTag: 'x' });
    await a.close();
    await b.close();
  });

  it('a re-INVITE to a new address keeps rtpengine\'s port and the media follows (hold / move)', async () => {
    const call = nextCall();
    const a = await rtpEndpoint('127.0.0.1');
    const b = await rtpEndpoint('127.0.0.1');
    const b2 = await rtpEndpoint('127.0.0.1');
    const forB = await relay.offer(plainSdp(a.address, a.port), call, inside, outside);
    await relay.answer(plainSdp(b.address, b.port), call, outside, inside);
    // The callee sends a re-INVITE: its From tag is the dialog's To tag.
    const reverse = { callId: call.callId, fromTag: call.toTag, toTag: call.fromTag };
    const forA2 = await relay.offer(plainSdp(b2.address, b2.port, '8'), reverse, outside, inside);
    const forB2 = await relay.answer(plainSdp(a.address, a.port, '2'), reverse, inside, outside);
    expect(readSdp(forB2).port).toBe(readSdp(forB).port);
    await a.send(readSdp(forA2).address, readSdp(forA2).port, 20, 10);
    await until(() => b2.received.length >= 18, 5000, 'media at the new address');
    expect(b2.received.length).toBeGreaterThanOrEqual(18);
    await relay.delete(call);
    await Promise.all([a.close(), b.close(), b2.close()]);
  });

  it('a late offer (INVITE without SDP, offer in the 200, answer in the ACK) relays media too', async () => {
    const call = nextCall();
    const a = await rtpEndpoint('127.0.0.1');
    const b = await rtpEndpoint('127.0.0.1');
    // The proxy passes the callee's tag as from-tag: it made the offer.
    const late = { callId: call.callId, fromTag: call.toTag, toTag: call.fromTag, cseq: 1 };
    const forA = await relay.offer(plainSdp(b.address, b.port), late, outside, inside);
    const forB = await relay.answer(plainSdp(a.address, a.port), late, inside, outside);
    await exchange(a, forA, b, forB);
    expect(a.received.length).toBeGreaterThanOrEqual(95);
    expect(b.received.length).toBeGreaterThanOrEqual(95);
    // The BYE names the dialog by the SIP From/To tags of the message, in either order.
    await relay.delete({ callId: call.callId, fromTag: call.fromTag, toTag: call.toTag }, 'bye');
    await until(async () => !(await portInUse('127.0.0.1', readSdp(forA).port)), 5000, 'ports freed');
    await Promise.all([a.close(), b.close()]);
  });

  it('a retransmitted offer (same tags) gets the same ports, not a second allocation', async () => {
    const call = nextCall();
    const sdp = plainSdp('127.0.0.1', 40_000);
    const first = await relay.offer(sdp, call, inside, outside);
    const again = await relay.offer(sdp, call, inside, outside);
    expect(readSdp(again).port).toBe(readSdp(first).port);
    await relay.delete({ callId: call.callId, fromTag: call.fromTag });
  });
});

describe('WebRTC on one side, plain RTP on the other', () => {
  it('a browser offer (ICE, DTLS, SAVPF, rtcp-mux) reaches the phone as plain RTP/AVP; the answer goes back as WebRTC', async () => {
    const call = nextCall();
    const forPhone = readSdp(await relay.offer(webrtcSdp('127.0.0.1', 50_000, 'actpass'), call, browser, inside));
    expect(forPhone.protocol).toBe('RTP/AVP');
    expect(forPhone.address).toBe('127.0.0.1');
    for (const name of ['candidate', 'ice-ufrag', 'ice-pwd', 'fingerprint', 'setup', 'rtcp-mux', 'crypto']) {
      expect(hasAttribute(forPhone, name), name).toBe(false);
    }
    expect(forPhone.attributes).toContain(`rtcp:${forPhone.port + 1}`);
    expect(forPhone.lines).not.toContain('a=group:BUNDLE 0');

    const forBrowser = readSdp(await relay.answer(plainSdp('127.0.0.1', 40_002), call, inside, browser));
    expect(forBrowser.protocol).toBe('UDP/TLS/RTP/SAVPF');
    expect(hasAttribute(forBrowser, 'ice-ufrag')).toBe(true);
    expect(hasAttribute(forBrowser, 'ice-pwd')).toBe(true);
    expect(forBrowser.attributes).toContain('rtcp-mux');
    expect(forBrowser.attributes.find((a) => a.startsWith('fingerprint:'))).toMatch(/^fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(forBrowser.attributes.find((a) => a.startsWith('setup:'))).toMatch(/^setup:(active|passive)$/);
    expect(hasAttribute(forBrowser, 'crypto')).toBe(false);
    // rtpengine is the only ICE candidate, at the port the m= line names.
    const candidates = forBrowser.attributes.filter((a) => a.startsWith('candidate:'));
    expect(candidates.length).toBeGreaterThanOrEqual(1);
    expect(candidates.every((c) => c.includes(' 127.0.0.1 ') && !c.includes(' 50000 '))).toBe(true);
    expect(candidates.some((c) => c.includes(` 127.0.0.1 ${forBrowser.port} typ host`))).toBe(true);
    await relay.delete(call);
  });

  it('a phone offer reaches the browser as WebRTC (actpass, ICE, rtcp-mux, a=mid); the browser answer goes back as plain RTP', async () => {
    const call = nextCall();
    const forBrowser = readSdp(await relay.offer(plainSdp('127.0.0.1', 40_004), call, inside, browser));
    expect(forBrowser.protocol).toBe('UDP/TLS/RTP/SAVPF');
    expect(forBrowser.attributes).toContain('setup:actpass');
    expect(forBrowser.attributes).toContain('rtcp-mux');
    expect(hasAttribute(forBrowser, 'mid')).toBe(true);
    expect(hasAttribute(forBrowser, 'fingerprint')).toBe(true);
    expect(hasAttribute(forBrowser, 'ice-ufrag')).toBe(true);
    expect(forBrowser.attributes.some((c) => c.startsWith('candidate:') && c.includes(` 127.0.0.1 ${forBrowser.port} typ host`))).toBe(true);
    expect(hasAttribute(forBrowser, 'crypto')).toBe(false);

    const forPhone = readSdp(await relay.answer(webrtcSdp('127.0.0.1', 50_002, 'active'), call, browser, inside));
    expect(forPhone.protocol).toBe('RTP/AVP');
    for (const name of ['candidate', 'ice-ufrag', 'fingerprint', 'setup', 'rtcp-mux']) {
      expect(hasAttribute(forPhone, name), name).toBe(false);
    }
    expect(forPhone.attributes).toContain(`rtcp:${forPhone.port + 1}`);
    // rtpengine now speaks DTLS-SRTP with ICE to the browser and plain RTP to the phone.
    const query = JSON.stringify((await relay.client.request({ command: 'query', 'call-id': call.callId })).dict);
    expect(query).toContain('"protocol":"UDP/TLS/RTP/SAVPF"');
    expect(query).toContain('"protocol":"RTP/AVP"');
    expect(query).toContain('DTLS-SRTP');
    await relay.delete(call);
  });

  it('webrtc: true on a UDP side and webrtc: false on a WebSocket side override the transport', async () => {
    const call = nextCall();
    const forced = readSdp(await relay.offer(plainSdp('127.0.0.1', 40_006), call, inside, { ...inside, leg: 'gw', webrtc: true }));
    expect(forced.protocol).toBe('UDP/TLS/RTP/SAVPF');
    await relay.delete(call);
    const call2 = nextCall();
    const plain = readSdp(await relay.offer(plainSdp('127.0.0.1', 40_008), call2, inside, { ...browser, webrtc: false }));
    expect(plain.protocol).toBe('RTP/AVP');
    expect(hasAttribute(plain, 'fingerprint')).toBe(false);
    await relay.delete(call2);
  });

  it('dtls: passive makes rtpengine the DTLS server towards the browser', async () => {
    const passive = new RtpengineMediaRelay(relay.client, { dtls: 'passive', deleteDelay: 0 });
    const call = nextCall();
    await passive.offer(webrtcSdp('127.0.0.1', 50_004, 'actpass'), call, browser, inside);
    const forBrowser = readSdp(await passive.answer(plainSdp('127.0.0.1', 40_010), call, inside, browser));
    expect(forBrowser.attributes).toContain('setup:passive');
    await passive.delete(call);
    await passive.close();
    // It did not own the shared client: the client still works.
    await relay.client.ping();
  });
});

describe('addresses and interfaces', () => {
  it('an IPv6 side gets an IPv6 SDP and media flows between an IPv4 and an IPv6 phone', async () => {
    const dual = await startRtpengine({ interfaces: ['127.0.0.1', '::1'], listen: '::1' });
    const r = await RtpengineMediaRelay.start({ host: '::1', port: dual.port, deleteDelay: 0 });
    try {
      const v6: MediaSide = { leg: 'six', address: '::1', transport: 'udp', family: 6 };
      const call = nextCall();
      const a = await rtpEndpoint('127.0.0.1');
      const b = await rtpEndpoint('::1');
      const forB = await r.offer(plainSdp(a.address, a.port), call, inside, v6);
      expect(forB).toContain('c=IN IP6 ::1');
      const forA = await r.answer(plainSdp(b.address, b.port), call, v6, inside);
      expect(forA).toContain('c=IN IP4 127.0.0.1');
      await exchange(a, forA, b, forB);
      expect(a.received.length).toBeGreaterThanOrEqual(95);
      expect(b.received.length).toBeGreaterThanOrEqual(95);
      expect(b.received[0]?.from).toBe('::1');
      await r.delete(call);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await r.close();
      await dual.stop();
    }
  });

  it('a multi-homed rtpengine gives each leg addresses of its own network (direction from interfaces)', async () => {
    const homed = await startRtpengine({ interfaces: ['in/127.0.0.1', 'out/127.0.0.2'] });
    const r = await RtpengineMediaRelay.start({
      host: homed.host,
      port: homed.port,
      deleteDelay: 0,
      interfaces: { inside: 'in', '127.0.0.2': 'out' },
    });
    try {
      const call = nextCall();
      const a = await rtpEndpoint('127.0.0.1');
      const b = await rtpEndpoint('127.0.0.2');
      const forB = await r.offer(plainSdp(a.address, a.port), call, inside, { ...outside, leg: 'unnamed' });
      expect(readSdp(forB).address).toBe('127.0.0.2');
      const forA = await r.answer(plainSdp(b.address, b.port), call, outside, inside);
      expect(readSdp(forA).address).toBe('127.0.0.1');
      await exchange(a, forA, b, forB);
      expect(b.received.length).toBeGreaterThanOrEqual(95);
      expect(a.received.length).toBeGreaterThanOrEqual(95);
      expect(new Set(b.received.map((p) => p.from))).toEqual(new Set(['127.0.0.2']));
      expect(new Set(a.received.map((p) => p.from))).toEqual(new Set(['127.0.0.1']));
      await r.delete(call);
      // A leg that is in neither map is a configuration error, not a call on the wrong network.
      const error = await rejection(r.offer(plainSdp(a.address, a.port), nextCall(), inside, { ...browser, address: '127.0.0.9' }));
      expect(error.rtpengineCode).toBe('RTPENGINE_OPTION_INVALID');
      expect(error.message).toContain('leg ws (127.0.0.9) has no entry in interfaces');
      await Promise.all([a.close(), b.close()]);
    } finally {
      await r.close();
      await homed.stop();
    }
  });
});

describe('the end of the media: BYE, CANCEL, a refused INVITE or re-INVITE', () => {
  const established = async (r: RtpengineMediaRelay): Promise<{ callId: string; fromTag: string; toTag: string }> => {
    const call = nextCall();
    await r.offer(plainSdp('127.0.0.1', 42_000), { callId: call.callId, fromTag: call.fromTag, cseq: 1 }, inside, outside);
    await r.answer(plainSdp('127.0.0.1', 42_002), { ...call, cseq: 1 }, outside, inside);
    return call;
  };
  const exists = async (callId: string): Promise<boolean> =>
    relay.client.request({ command: 'query', 'call-id': callId }).then(
      () => true,
      () => false,
    );

  it('a BYE from the callee (From and To tags swapped) ends the call', async () => {
    const call = await established(relay);
    await relay.delete({ callId: call.callId, fromTag: call.toTag, toTag: call.fromTag, cseq: 5 }, 'bye');
    await until(async () => !(await exists(call.callId)), 5000, 'the call deleted');
  });

  it('a CANCEL of the initial INVITE ends the call (every branch of the From tag)', async () => {
    const call = nextCall();
    await relay.offer(plainSdp('127.0.0.1', 42_004), { callId: call.callId, fromTag: call.fromTag, cseq: 7 }, inside, outside);
    await relay.delete({ callId: call.callId, fromTag: call.fromTag, cseq: 7 }, 'cancel');
    await until(async () => !(await exists(call.callId)), 5000, 'the call deleted');
  });

  it('a 407 to the first INVITE ends it; the INVITE sent again with credentials (next CSeq) gets media again', async () => {
    const call = nextCall();
    await relay.offer(plainSdp('127.0.0.1', 42_006), { callId: call.callId, fromTag: call.fromTag, cseq: 1 }, inside, outside);
    await relay.delete({ callId: call.callId, fromTag: call.fromTag, toTag: 'proxy-407', cseq: 1 }, 'rejected');
    await until(async () => !(await exists(call.callId)), 5000, 'the call deleted');
    await relay.offer(plainSdp('127.0.0.1', 42_006), { callId: call.callId, fromTag: call.fromTag, cseq: 2 }, inside, outside);
    await relay.answer(plainSdp('127.0.0.1', 42_008), { ...call, cseq: 2 }, outside, inside);
    expect(await exists(call.callId)).toBe(true);
    await relay.delete(call, 'bye');
  });

  it('a refused re-INVITE (488) or its CANCEL keeps the media agreed before, whoever sent it', async () => {
    const call = await established(relay);
    // The caller's re-INVITE (CSeq 2) refused: the relay saw the initial offer (CSeq 1).
    await relay.offer(plainSdp('127.0.0.1', 42_010), { ...call, cseq: 2 }, inside, outside);
    await relay.delete({ ...call, cseq: 2 }, 'rejected');
    await relay.delete({ ...call, cseq: 2 }, 'cancel');
    // The callee's re-INVITE (its own CSeq 1!) refused by the caller: From/To tags swapped.
    const reverse = { callId: call.callId, fromTag: call.toTag, toTag: call.fromTag, cseq: 1 };
    await relay.offer(plainSdp('127.0.0.1', 42_012), reverse, outside, inside);
    await relay.delete(reverse, 'rejected');
    await relay.delete(reverse, 'cancel');
    expect(await exists(call.callId)).toBe(true);
    // A relay of another proxy, which saw no offer of this call, decides from rtpengine's state.
    const other = new RtpengineMediaRelay(relay.client, { deleteDelay: 0 });
    await other.delete({ ...call, cseq: 3 }, 'rejected');
    await other.delete({ ...call, cseq: 3 }, 'cancel');
    expect(await exists(call.callId)).toBe(true);
    // ... and still ends a call whose first INVITE is refused.
    const refused = nextCall();
    await relay.offer(plainSdp('127.0.0.1', 42_014), { callId: refused.callId, fromTag: refused.fromTag, cseq: 1 }, inside, outside);
    await other.delete({ ...refused, cseq: 1 }, 'rejected');
    await until(async () => !(await exists(refused.callId)), 5000, 'the refused call deleted');
    await relay.delete(call, 'bye');
    await until(async () => !(await exists(call.callId)), 5000, 'the call deleted');
  });
});

describe('several proxies on one rtpengine', () => {
  it('the offer through one proxy and the answer and BYE through another reach the same call', async () => {
    const p1 = await RtpengineMediaRelay.start({ host: daemon.host, port: daemon.port, deleteDelay: 0 });
    const p2 = await RtpengineMediaRelay.start({ host: daemon.host, port: daemon.port, deleteDelay: 0 });
    const call = nextCall();
    const forB = await p1.offer(plainSdp('127.0.0.1', 40_012), call, inside, outside);
    const forA = await p2.answer(plainSdp('127.0.0.1', 40_014), call, outside, inside);
    expect(readSdp(forA).port).not.toBe(readSdp(forB).port);
    // Overlapping calls of both proxies: cookies never collide (random per-client prefix).
    const calls = Array.from({ length: 20 }, () => nextCall());
    const sdps = await Promise.all(calls.map((c, i) => (i % 2 === 0 ? p1 : p2).offer(plainSdp('127.0.0.1', 41_000 + 2 * i), c, inside, outside)));
    expect(new Set(sdps.map((s) => readSdp(s).port)).size).toBe(20);
    await p2.delete(call);
    await Promise.all(calls.map((c) => p1.delete(c)));
    expect((await rejection(p1.client.request({ command: 'query', 'call-id': call.callId }))).rtpengineCode).toBe('RTPENGINE_ERROR');
    await p1.close();
    await p2.close();
  });
});

describe('refusals', () => {
  it('an SDP rtpengine cannot parse: RTPENGINE_ERROR, status 503, with its reason', async () => {
    const error = await rejection(relay.offer('this is not sdp', nextCall(), inside, outside));
    expect(error.rtpengineCode).toBe('RTPENGINE_ERROR');
    expect(error.status).toBe(503);
    expect(error.reason).toMatch(/SDP/i);
  });

  it('an answer for a call rtpengine does not know, or without a To tag', async () => {
    const unknown = await rejection(relay.answer(plainSdp('127.0.0.1', 40_016), nextCall(), outside, inside));
    expect(unknown.rtpengineCode).toBe('RTPENGINE_ERROR');
    expect(unknown.reason).toMatch(/Unknown call-id/i);
    const noTag = await rejection(relay.answer('v=0', { callId: 'x', fromTag: 'y' }, outside, inside));
    expect([noTag.rtpengineCode, noTag.status]).toEqual(['RTPENGINE_CALL_INVALID', 503]);
    expect((await rejection(relay.offer('v=0', { callId: '', fromTag: 'y' }, inside, outside))).rtpengineCode).toBe('RTPENGINE_CALL_INVALID');
  });

  it('a full rtpengine (--max-sessions) answers load limit: RTPENGINE_LOAD_LIMIT, status 503', async () => {
    const full = await startRtpengine({ args: ['--max-sessions=1'] });
    const r = await RtpengineMediaRelay.start({ host: full.host, port: full.port, deleteDelay: 0 });
    try {
      const first = nextCall();
      await r.offer(plainSdp('127.0.0.1', 40_018), first, inside, outside);
      const error = await rejection(r.offer(plainSdp('127.0.0.1', 40_020), nextCall(), inside, outside));
      expect([error.rtpengineCode, error.status]).toEqual(['RTPENGINE_LOAD_LIMIT', 503]);
      await r.delete(first);
      await until(async () => (await r.offer(plainSdp('127.0.0.1', 40_022), nextCall(), inside, outside).then(() => true, () => false)), 5000, 'room again');
    } finally {
      await r.close();
      await full.stop();
    }
  });

  it('rtpengine dies mid-call: the next offer fails with a typed 503 error, no crash; close is idempotent', async () => {
    const dying = await startRtpengine();
    const r = await RtpengineMediaRelay.start({ host: dying.host, port: dying.port, timeoutMs: 200, retries: 1 });
    await r.offer(plainSdp('127.0.0.1', 40_024), nextCall(), inside, outside);
    await dying.stop();
    const error = await rejection(r.offer(plainSdp('127.0.0.1', 40_026), nextCall(), inside, outside));
    expect(['RTPENGINE_UNREACHABLE', 'RTPENGINE_TIMEOUT']).toContain(error.rtpengineCode);
    expect(error.status).toBe(503);
    await r.close();
    await r.close();
    expect((await rejection(r.offer('v=0', nextCall(), inside, outside))).rtpengineCode).toBe('RTPENGINE_CLOSED');
    expect((await rejection(r.delete(nextCall()))).rtpengineCode).toBe('RTPENGINE_CLOSED');
  });
});
