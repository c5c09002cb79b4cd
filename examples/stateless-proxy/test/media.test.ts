import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { adminGet, freePort, sample, until } from '@sipway/test-peers';
import { MAIN, cleanup, startProxy } from './helpers.js';
import type { ProxyProcess } from './helpers.js';
import { Dialog, RtpEndpoint, SipPeer, audioSdp, bracket, calleeDialog, closePeers, confirmAsCaller, mediaOf, newCall, socketCount } from './media-peers.js';
import type { Msg } from './media-peers.js';

afterEach(async () => {
  closePeers();
  await cleanup();
});

/** A port range of its own per proxy, away from other tests' (a clash is skipped anyway). */
function portRange(size = 200): string {
  const min = 40000 + 2 * Math.floor(Math.random() * 10000);
  return `${min}-${min + size - 1}`;
}

interface Net {
  name: string;
  /** Inside leg (the caller's side) and outside leg (the callee's). */
  inside: string;
  outside: string;
  outsideTransport: 'udp' | 'tcp';
  caller: string;
  callee: string;
}

const NETS: Net[] = [
  { name: 'IPv4 UDP to UDP', inside: '127.0.0.1', outside: '127.0.0.2', outsideTransport: 'udp', caller: '127.0.0.3', callee: '127.0.0.4' },
  { name: 'IPv4 UDP to TCP', inside: '127.0.0.1', outside: '127.0.0.2', outsideTransport: 'tcp', caller: '127.0.0.3', callee: '127.0.0.4' },
  { name: 'IPv6 UDP to TCP', inside: '::1', outside: '::1', outsideTransport: 'tcp', caller: '::1', callee: '::1' },
];

interface Setup {
  proxy: ProxyProcess;
  insideLeg: { address: string; port: number };
  outsideLeg: { address: string; port: number };
  caller: SipPeer;
  callee: SipPeer;
  baseSockets: number;
}

async function setup(net: Net, extra: string[] = [], media = `builtin:${portRange()}`): Promise<Setup> {
  const proxy = await startProxy(
    [
      '--leg', `udp:${bracket(net.inside)}:0`,
      '--leg', `${net.outsideTransport}:${bracket(net.outside)}:0`,
      '--domain', '*', '--media', media, '--log-level', 'warn', ...extra,
    ],
    2,
  );
  const insideLeg = proxy.legs[0]!;
  const outsideLeg = proxy.legs[1]!;
  const caller = await SipPeer.start('udp', net.caller, { host: insideLeg.address, port: insideLeg.port });
  const callee = await SipPeer.start(net.outsideTransport, net.callee, { host: outsideLeg.address, port: outsideLeg.port });
  return { proxy, insideLeg, outsideLeg, caller, callee, baseSockets: socketCount(proxy.child.pid!) };
}

interface Call {
  caller: Dialog;
  callee: Dialog;
  /** The SDPs each side received. */
  offerAtCallee: string;
  answerAtCaller: string;
}

/**
 * INVITE with an offer from the caller (through the outside leg: a preloaded Route for UDP, the
 * transport for TCP), 180, 200 with the answer, ACK.
 */
type Ends = Pick<Setup, 'caller' | 'callee' | 'outsideLeg'> & { noRoute?: boolean };

async function call(s: Ends, net: Net, offer: string, answer: (invite: Msg) => string): Promise<Call> {
  const target = `sip:bob@${bracket(net.callee)}:${s.callee.port}${net.outsideTransport === 'tcp' ? ';transport=tcp' : ''}`;
  const route = net.outsideTransport === 'udp' && s.noRoute !== true ? [`<sip:${bracket(s.outsideLeg.address)}:${s.outsideLeg.port};lr>`] : [];
  const d = newCall(s.caller, target, route);
  const mark = s.callee.received.length;
  await s.caller.send(d.request('INVITE', { sdp: offer }));
  const invite = await s.callee.wait((m) => m.method === 'INVITE', 'INVITE at the callee', 10_000, mark);
  const calleeTag = 'callee1';
  await s.callee.reply(invite, 180, 'Ringing', { toTag: calleeTag });
  await s.callee.reply(invite, 200, 'OK', { toTag: calleeTag, sdp: answer(invite) });
  const ok = await s.caller.wait((m) => m.status === 200 && m.method === 'INVITE', '200 at the caller');
  confirmAsCaller(d, ok);
  const ackMark = s.callee.received.length;
  await s.caller.send(d.request('ACK', { cseq: d.cseq }));
  await s.callee.wait((m) => m.method === 'ACK', 'ACK at the callee', 10_000, ackMark);
  return { caller: d, callee: calleeDialog(s.callee, invite, calleeTag), offerAtCallee: invite.body, answerAtCaller: ok.body };
}

async function hangUp(from: Dialog, to: SipPeer): Promise<void> {
  const mark = to.received.length;
  await from.peer.send(from.request('BYE'));
  const bye = await to.wait((m) => m.method === 'BYE', 'BYE', 10_000, mark);
  await to.reply(bye, 200, 'OK');
  await from.peer.wait((m) => m.status === 200 && m.method === 'BYE', '200 to BYE');
}

function fromRelay(ep: RtpEndpoint, relay: { address: string; port: number }): number {
  return ep.got.filter((p) => p.from.address === relay.address && p.from.port === relay.port).length;
}

describe.each(NETS)('calls across two legs with the built-in relay ($name)', (net) => {
  it('SDPs point at the relay, 100 packets each way at 20 ms arrive (≥ 95) from the relay, BYE closes the sockets', async () => {
    const s = await setup(net);
    const callerRtp = await RtpEndpoint.open(net.caller);
    const calleeRtp = await RtpEndpoint.open(net.callee);
    const c = await call(s, net, audioSdp(net.caller, callerRtp.port), () => audioSdp(net.callee, calleeRtp.port));

    // Each side sees the relay on the leg facing it, RTCP (RFC 3605) on the port after.
    const towardCallee = mediaOf(c.offerAtCallee);
    const towardCaller = mediaOf(c.answerAtCaller);
    expect(towardCallee.address).toBe(s.outsideLeg.address);
    expect(towardCaller.address).toBe(s.insideLeg.address);
    expect(towardCallee.port % 2).toBe(0);
    expect(towardCaller.port).not.toBe(callerRtp.port);
    // Lines the relay does not change are untouched.
    expect(c.offerAtCallee).toContain('a=rtpmap:101 telephone-event/8000\r\n');
    expect(c.offerAtCallee).toContain(`o=- 4242 1 IN IP${net.caller.includes(':') ? 6 : 4} ${net.caller}\r\n`);
    // Four sockets (RTP and RTCP on each side) while the call lasts.
    expect(socketCount(s.proxy.child.pid!)).toBe(s.baseSockets + 4);

    await Promise.all([callerRtp.stream(towardCaller), calleeRtp.stream(towardCallee)]);
    await until(() => calleeRtp.got.length >= 100 && callerRtp.got.length >= 100, 3000, 'the last packets').catch(() => undefined);
    expect(fromRelay(calleeRtp, towardCallee)).toBeGreaterThanOrEqual(95);
    expect(fromRelay(callerRtp, towardCaller)).toBeGreaterThanOrEqual(95);
    expect(calleeRtp.got.every((p) => p.from.address === s.outsideLeg.address)).toBe(true);

    await hangUp(c.caller, s.callee);
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 5000, 'the relay sockets to close');
    // After BYE nothing is relayed any more.
    const before = calleeRtp.got.length;
    await callerRtp.stream(towardCaller, 5);
    await new Promise((r) => setTimeout(r, 200)); // nothing may be relayed: the window of the assertion
    expect(calleeRtp.got.length).toBe(before);
    expect(await s.proxy.stop()).toBe(0);
  });
});

describe('two UDP legs of one proxy, phones registered on each (the new user\'s first call)', () => {
  it('a call to a user registered on the other leg leaves through that leg, and its audio is relayed', async () => {
    // pnpm proxy -- --leg udp:127.0.0.1:P --leg udp:127.0.0.2:P --registrar --media builtin: no
    // Route, no Contact token; the binding remembers the leg its REGISTER came in on.
    const net = NETS[0]!;
    const s = await setup(net, ['--registrar']);
    const register = new Dialog(s.callee, 'reg-bob@test', 'sip:bob@example.com', 'r1', 'sip:bob@example.com', 0);
    const mark = s.callee.received.length;
    await s.callee.send(register.request('REGISTER', { uri: 'sip:example.com', headers: ['Expires: 60'] }));
    await s.callee.wait((m) => m.status === 200 && m.method === 'REGISTER', '200 to REGISTER', 10_000, mark);

    const callerRtp = await RtpEndpoint.open(net.caller);
    const calleeRtp = await RtpEndpoint.open(net.callee);
    const d = newCall(s.caller, 'sip:bob@example.com');
    await s.caller.send(d.request('INVITE', { sdp: audioSdp(net.caller, callerRtp.port) }));
    const invite = await s.callee.wait((m) => m.method === 'INVITE', 'INVITE at the callee');
    // It left through the outside leg: its top Via and the SDP name 127.0.0.2, not 127.0.0.1.
    expect(invite.header('via')).toContain(`${s.outsideLeg.address}:${s.outsideLeg.port}`);
    const towardCallee = mediaOf(invite.body);
    expect(towardCallee.address).toBe(s.outsideLeg.address);
    await s.callee.reply(invite, 200, 'OK', { toTag: 'callee1', sdp: audioSdp(net.callee, calleeRtp.port) });
    const ok = await s.caller.wait((m) => m.status === 200 && m.method === 'INVITE', '200 at the caller');
    confirmAsCaller(d, ok);
    await s.caller.send(d.request('ACK', { cseq: d.cseq }));
    const towardCaller = mediaOf(ok.body);
    expect(towardCaller.address).toBe(s.insideLeg.address);

    await Promise.all([callerRtp.stream(towardCaller), calleeRtp.stream(towardCallee)]);
    await until(() => calleeRtp.got.length >= 100 && callerRtp.got.length >= 100, 3000, 'the last packets').catch(() => undefined);
    expect(fromRelay(calleeRtp, towardCallee)).toBeGreaterThanOrEqual(95);
    expect(fromRelay(callerRtp, towardCaller)).toBeGreaterThanOrEqual(95);
    await hangUp(d, s.callee);
    expect(await s.proxy.stop()).toBe(0);
  });
});

const V4 = NETS[0]!;
const V4_TCP = NETS[1]!;

describe('media life cycle through the example proxy (IPv4, UDP inside, UDP or TCP outside)', () => {
  it('CANCEL of a ringing call closes its relay sockets', async () => {
    const s = await setup(V4_TCP);
    const callerRtp = await RtpEndpoint.open(V4_TCP.caller);
    const target = `sip:bob@${V4_TCP.callee}:${s.callee.port};transport=tcp`;
    const d = newCall(s.caller, target);
    const branch = 'z9hG4bKcancelme1';
    await s.caller.send(d.request('INVITE', { sdp: audioSdp(V4_TCP.caller, callerRtp.port), branch }));
    const invite = await s.callee.wait((m) => m.method === 'INVITE', 'INVITE');
    await s.callee.reply(invite, 180, 'Ringing', { toTag: 'ring' });
    await s.caller.wait((m) => m.status === 180, '180');
    expect(socketCount(s.proxy.child.pid!)).toBe(s.baseSockets + 4);
    // CANCEL: same branch, CSeq number and Request-URI as the INVITE (RFC 3261 §9.1).
    await s.caller.send(d.request('CANCEL', { branch, cseq: d.cseq }));
    const cancel = await s.callee.wait((m) => m.method === 'CANCEL', 'CANCEL at the callee');
    await s.callee.reply(cancel, 200, 'OK');
    await s.callee.reply(invite, 487, 'Request Terminated', { toTag: 'ring' });
    await s.caller.wait((m) => m.status === 487, '487 at the caller');
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 5000, 'the relay sockets to close after CANCEL');
    expect(await s.proxy.stop()).toBe(0);
  });

  it('a busy callee (486) closes the relay sockets too', async () => {
    const s = await setup(V4);
    const callerRtp = await RtpEndpoint.open(V4.caller);
    const d = newCall(s.caller, `sip:bob@${V4.callee}:${s.callee.port}`, [`<sip:${s.outsideLeg.address}:${s.outsideLeg.port};lr>`]);
    await s.caller.send(d.request('INVITE', { sdp: audioSdp(V4.caller, callerRtp.port) }));
    const invite = await s.callee.wait((m) => m.method === 'INVITE', 'INVITE');
    expect(socketCount(s.proxy.child.pid!)).toBe(s.baseSockets + 4);
    await s.callee.reply(invite, 486, 'Busy Here', { toTag: 'busy' });
    await s.caller.wait((m) => m.status === 486, '486 at the caller');
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 5000, 'the relay sockets to close after 486');
    expect(await s.proxy.stop()).toBe(0);
  });

  it('an idle call expires (--media-timeout) and its sockets close without a BYE', async () => {
    const s = await setup(V4, ['--media-timeout', '1']);
    const callerRtp = await RtpEndpoint.open(V4.caller);
    const calleeRtp = await RtpEndpoint.open(V4.callee);
    const c = await call(s, V4, audioSdp(V4.caller, callerRtp.port), () => audioSdp(V4.callee, calleeRtp.port));
    await callerRtp.stream(mediaOf(c.answerAtCaller), 10);
    await until(() => calleeRtp.got.length >= 9, 3000, 'packets before the expiry');
    const started = Date.now();
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 8000, 'the idle call to expire');
    // Not before the timeout (1 s) has passed since the last packet.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(await s.proxy.stop()).toBe(0);
  });

  it('re-INVITE moves the media and the relay follows; hold (0.0.0.0) stops it; the sockets stay the same', async () => {
    const s = await setup(V4);
    const callerRtp = await RtpEndpoint.open(V4.caller);
    const calleeRtp = await RtpEndpoint.open(V4.callee);
    const c = await call(s, V4, audioSdp(V4.caller, callerRtp.port), () => audioSdp(V4.callee, calleeRtp.port));
    const towardCallee = mediaOf(c.offerAtCallee);
    const towardCaller = mediaOf(c.answerAtCaller);

    // The caller moves its media to another port (re-INVITE, RFC 3261 §14).
    const moved = await RtpEndpoint.open(V4.caller);
    const mark = s.callee.received.length;
    await s.caller.send(c.caller.request('INVITE', { sdp: audioSdp(V4.caller, moved.port, { version: 2 }) }));
    const reinvite = await s.callee.wait((m) => m.method === 'INVITE', 're-INVITE', 10_000, mark);
    expect(mediaOf(reinvite.body)).toEqual(towardCallee);
    await s.callee.reply(reinvite, 200, 'OK', { sdp: audioSdp(V4.callee, calleeRtp.port, { version: 2 }) });
    const ok = await s.caller.wait((m) => m.status === 200 && m.header('cseq') === `${c.caller.cseq} INVITE`, '200 to the re-INVITE');
    expect(mediaOf(ok.body)).toEqual(towardCaller);
    await s.caller.send(c.caller.request('ACK', { cseq: c.caller.cseq }));
    await moved.stream(towardCaller, 3);
    await calleeRtp.stream(towardCallee, 100);
    await until(() => moved.got.length >= 95, 3000, 'media at the new port');
    expect(callerRtp.got).toHaveLength(0);
    expect(socketCount(s.proxy.child.pid!)).toBe(s.baseSockets + 4);

    // Hold from the callee: c=0.0.0.0 a=sendonly (RFC 3264 §8.4) — nothing reaches it.
    const holdMark = s.caller.received.length;
    await s.callee.send(c.callee.request('INVITE', { sdp: audioSdp(V4.callee, calleeRtp.port, { version: 3, cAddress: '0.0.0.0', direction: 'sendonly' }) }));
    const holdInvite = await s.caller.wait((m) => m.method === 'INVITE', 'hold re-INVITE', 10_000, holdMark);
    expect(holdInvite.body).toContain('c=IN IP4 0.0.0.0\r\n');
    await s.caller.reply(holdInvite, 200, 'OK', { sdp: audioSdp(V4.caller, moved.port, { version: 3, direction: 'recvonly' }) });
    await s.callee.wait((m) => m.status === 200 && m.header('cseq') === `${c.callee.cseq} INVITE`, '200 to the hold');
    await s.callee.send(c.callee.request('ACK', { cseq: c.callee.cseq }));
    const before = calleeRtp.got.length;
    await moved.stream(towardCaller, 25);
    await new Promise((r) => setTimeout(r, 200)); // nothing may be relayed: the window of the assertion
    expect(calleeRtp.got.length).toBe(before);
    await hangUp(c.callee, s.caller);
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 5000, 'sockets closed after the callee’s BYE');
    expect(await s.proxy.stop()).toBe(0);
  });

  it('latching: a phone whose SDP names a private address it does not send from still gets its media', async () => {
    const s = await setup(V4);
    const callerRtp = await RtpEndpoint.open(V4.caller);
    const calleeRtp = await RtpEndpoint.open(V4.callee);
    // Behind a NAT: the SDP names 127.0.0.5:4000 (where nothing listens; a loopback address so no
    // test packet leaves the box), the packets come from 127.0.0.3:<port>.
    const c = await call(s, V4, audioSdp('127.0.0.5', 4000), () => audioSdp(V4.callee, calleeRtp.port));
    const towardCaller = mediaOf(c.answerAtCaller);
    const towardCallee = mediaOf(c.offerAtCallee);
    await callerRtp.stream(towardCaller, 1);
    await until(() => calleeRtp.got.length === 1, 3000, 'the first packet');
    await Promise.all([callerRtp.stream(towardCaller, 99), calleeRtp.stream(towardCallee, 100)]);
    await until(() => callerRtp.got.length >= 100, 3000, 'all packets').catch(() => undefined);
    expect(fromRelay(callerRtp, towardCaller)).toBeGreaterThanOrEqual(95);
    expect(fromRelay(calleeRtp, towardCallee)).toBeGreaterThanOrEqual(95);
    expect(await s.proxy.stop()).toBe(0);
  });

  it('a relay that cannot take the call (no ports left) answers the INVITE 503 and the proxy goes on', async () => {
    const min = 40000 + 2 * Math.floor(Math.random() * 10000);
    // One RTP/RTCP pair per address: one call (a pair on each side's address).
    const s = await setup(V4, [], `builtin:${min}-${min + 1}`);
    const rtp = await RtpEndpoint.open(V4.caller);
    const first = await call(s, V4, audioSdp(V4.caller, rtp.port), () => audioSdp(V4.callee, 4000));
    const d = newCall(s.caller, `sip:bob@${V4.callee}:${s.callee.port}`, [`<sip:${s.outsideLeg.address}:${s.outsideLeg.port};lr>`]);
    const mark = s.callee.received.length;
    await s.caller.send(d.request('INVITE', { sdp: audioSdp(V4.caller, rtp.port) }));
    const refused = await s.caller.wait((m) => m.status === 503 && m.header('call-id') === d.callId, '503').catch((e: unknown) => {
      throw new Error(`${String(e)}\n${s.proxy.output()}\n${s.caller.received.map((m) => m.start).join('\n')}`);
    });
    expect(refused.start).toBe('SIP/2.0 503 Service Unavailable');
    expect(s.callee.received.slice(mark).some((m) => m.method === 'INVITE')).toBe(false);
    // pino writes asynchronously: wait for the line rather than read the output once.
    await until(() => s.proxy.logs().some((l) => l.msg === 'media relay failed' && l.code === 'MEDIA_NO_PORTS'), 5000, 'the media relay failed line');
    // Once the first call ends, the next one gets media again.
    await hangUp(first.caller, s.callee);
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 5000, 'sockets closed');
    const again = await call(s, V4, audioSdp(V4.caller, rtp.port), () => audioSdp(V4.callee, 4000));
    expect(mediaOf(again.offerAtCallee).address).toBe(s.outsideLeg.address);
    expect(await s.proxy.stop()).toBe(0);
  });
});

describe('--media with --admin', () => {
  it('exports the relayed packets, bytes and sessions on /metrics', async () => {
    const s = await setup(V4, ['--admin', '127.0.0.1:0']);
    const callerRtp = await RtpEndpoint.open(V4.caller);
    const calleeRtp = await RtpEndpoint.open(V4.callee);
    const c = await call(s, V4, audioSdp(V4.caller, callerRtp.port), () => audioSdp(V4.callee, calleeRtp.port));
    await Promise.all([callerRtp.stream(mediaOf(c.answerAtCaller), 20), calleeRtp.stream(mediaOf(c.offerAtCallee), 20)]);
    const metric = async (name: string, labels: Record<string, string> = {}) => sample((await adminGet(s.proxy.admin!, '/metrics')).text, name, labels);
    let packets: number | undefined;
    // Traffic counters are published about once a second.
    await until(async () => (packets = await metric('sipway_media_packets_total', { relay: 'builtin' })) !== undefined && packets >= 38, 10_000, 'sipway_media_packets_total');
    expect(await metric('sipway_media_bytes_total', { relay: 'builtin' })).toBe(packets! * 172);
    expect(await metric('sipway_media_sessions')).toBe(1);
    await hangUp(c.caller, s.callee);
    await until(async () => (await metric('sipway_media_sessions')) === 0, 5000, 'the session gauge to drop');
    expect(await metric('sipway_media_sessions_total', { event: 'close', reason: 'bye' })).toBe(1);
    expect(await s.proxy.stop()).toBe(0);
  });
});

describe('--media flags', () => {
  function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  it.each([
    [['--media', 'relay'], /media "relay": expected builtin, builtin:PORTMIN-PORTMAX or rtpengine:HOST:PORT/],
    [['--media', 'builtin:2000-1000'], /expected builtin:PORTMIN-PORTMAX with 1024 ≤ PORTMIN < PORTMAX ≤ 65535/],
    [['--media', 'builtin:30001-30002'], /holds no RTP\/RTCP pair/],
    [['--media', 'rtpengine:localhost'], /expected rtpengine:HOST:PORT/],
    [['--media-timeout', '5'], /media-timeout needs media/],
    [['--media', 'builtin', '--media-timeout', 'soon'], /media-timeout "soon": expected seconds/],
    [['--media', 'builtin', '--leg', 'udp:0.0.0.0:0'], /needs every leg bound to a specific address/],
  ])('%j exits 2 with a clear message', async (args, message) => {
    const r = await run(['--leg', 'udp:127.0.0.1:0', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

const NETSIP = '/usr/share/doc/libnet-sip-perl/examples/bin/stateless_proxy.pl';

/** True while something holds UDP `port` on `address`. */
function udpBound(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => resolve(true));
    sock.bind(port, address, () => sock.close(() => resolve(false)));
  });
}

/**
 * Net::SIP's `stateless_proxy.pl --nathelper` with the same two legs; the callee's address is
 * the outside leg's domain (Net::SIP routes by domain2leg, not by a preloaded Route).
 */
async function netSip(net: Net): Promise<Ends & { stop(): void }> {
  if (!existsSync(NETSIP)) throw new Error(`${NETSIP} missing: apt-get install libnet-sip-perl`);
  const inside = await freePort(net.inside);
  const outside = await freePort(net.outside);
  const outsideLeg = { address: net.outside, port: outside };
  const caller = await SipPeer.start('udp', net.caller, { host: net.inside, port: inside });
  const callee = await SipPeer.start('udp', net.callee, { host: net.outside, port: outside });
  const child = spawn(
    'perl',
    [NETSIP, ...(process.env.NETSIP_DEBUG ? ['-d', '50'] : []), '--nathelper', '--leg', `${net.inside}:${inside}`, '--leg', `${net.outside}:${outside}`, '--domain', net.callee, '--domain', `${net.callee}:${callee.port}`],
    { stdio: ['ignore', process.env.NETSIP_DEBUG ? 'inherit' : 'ignore', process.env.NETSIP_DEBUG ? 'inherit' : 'ignore'] },
  );
  const stop = () => child.kill('SIGKILL');
  netSipStops.push(stop);
  await until(async () => (await udpBound(net.inside, inside)) && (await udpBound(net.outside, outside)), 10_000, 'stateless_proxy.pl to bind');
  return { caller, callee, outsideLeg, noRoute: true, stop };
}

const netSipStops: Array<() => void> = [];
afterEach(() => {
  for (const stop of netSipStops.splice(0)) stop();
});

/** What a media test sees of one call: where the SDPs point and how many packets made it, from where. */
async function mediaOutcome(s: Ends, insideAddress: string, opts: { callerSdpAddress?: string } = {}) {
  const callerRtp = await RtpEndpoint.open(V4.caller);
  const calleeRtp = await RtpEndpoint.open(V4.callee);
  const c = await call(s, V4, audioSdp(opts.callerSdpAddress ?? V4.caller, opts.callerSdpAddress === undefined ? callerRtp.port : 4000), () => audioSdp(V4.callee, calleeRtp.port));
  const towardCallee = mediaOf(c.offerAtCallee);
  const towardCaller = mediaOf(c.answerAtCaller);
  // The caller speaks first (as a NAT'd phone must, for latching), then both at 20 ms.
  await callerRtp.stream(towardCaller, 1);
  await until(() => calleeRtp.got.length === 1, 5000, 'the first packet at the callee');
  await Promise.all([callerRtp.stream(towardCaller, 99), calleeRtp.stream(towardCallee, 100)]);
  await until(() => calleeRtp.got.length >= 100 && callerRtp.got.length >= 100, 3000, 'every packet').catch(() => undefined);
  await hangUp(c.caller, s.callee);
  return {
    offerPointsAt: towardCallee.address === s.outsideLeg.address ? 'outside leg' : towardCallee.address,
    answerPointsAt: towardCaller.address === insideAddress ? 'inside leg' : towardCaller.address,
    atCallee: { fromRelay: fromRelay(calleeRtp, towardCallee) >= 95, all: calleeRtp.got.length >= 95 },
    atCaller: { fromRelay: fromRelay(callerRtp, towardCaller) >= 95, all: callerRtp.got.length >= 95 },
  };
}

describe("the same call through Net::SIP's stateless_proxy.pl --nathelper and through sipway --media builtin", () => {
  it('gives the same media outcome: SDPs at the legs, 100 packets each way relayed from the leg addresses', async () => {
    const n = await netSip(V4);
    const viaNetSip = await mediaOutcome(n, V4.inside);
    n.stop();
    const s = await setup(V4);
    const viaSipway = await mediaOutcome(s, V4.inside);
    expect(viaNetSip).toEqual({
      offerPointsAt: 'outside leg',
      answerPointsAt: 'inside leg',
      atCallee: { fromRelay: true, all: true },
      atCaller: { fromRelay: true, all: true },
    });
    expect(viaSipway).toEqual(viaNetSip);
    expect(await s.proxy.stop()).toBe(0);
  });

  it('latches the same way: a phone whose SDP names an address it does not send from gets its media at its real address', async () => {
    const n = await netSip(V4);
    const viaNetSip = await mediaOutcome(n, V4.inside, { callerSdpAddress: '127.0.0.5' });
    n.stop();
    const s = await setup(V4);
    const viaSipway = await mediaOutcome(s, V4.inside, { callerSdpAddress: '127.0.0.5' });
    // NATHelper's forward_data learns the peer from its first packet and sends there from then on.
    expect(viaNetSip.atCaller).toEqual({ fromRelay: true, all: true });
    expect(viaSipway).toEqual(viaNetSip);
    expect(await s.proxy.stop()).toBe(0);
  });
});
