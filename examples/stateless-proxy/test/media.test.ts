import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { cleanup, startProxy } from './helpers.js';
import type { ProxyProcess } from './helpers.js';
import { RtpEndpoint, SipPeer, audioSdp, bracket, calleeDialog, closePeers, confirmAsCaller, mediaOf, newCall, socketCount } from './media-peers.js';
import type { Dialog, Msg } from './media-peers.js';

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

async function setup(net: Net, extra: string[] = []): Promise<Setup> {
  const proxy = await startProxy(
    [
      '--leg', `udp:${bracket(net.inside)}:0`,
      '--leg', `${net.outsideTransport}:${bracket(net.outside)}:0`,
      '--domain', '*', '--media', `builtin:${portRange()}`, '--log-level', 'warn', ...extra,
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
async function call(s: Setup, net: Net, offer: string, answer: (invite: Msg) => string): Promise<Call> {
  const target = `sip:bob@${bracket(net.callee)}:${s.callee.port}${net.outsideTransport === 'tcp' ? ';transport=tcp' : ''}`;
  const route = net.outsideTransport === 'udp' ? [`<sip:${bracket(s.outsideLeg.address)}:${s.outsideLeg.port};lr>`] : [];
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

async function hangUp(s: Setup, from: Dialog, to: SipPeer): Promise<void> {
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

    await hangUp(s, c.caller, s.callee);
    await until(() => socketCount(s.proxy.child.pid!) === s.baseSockets, 5000, 'the relay sockets to close');
    // After BYE nothing is relayed any more.
    const before = calleeRtp.got.length;
    await callerRtp.stream(towardCaller, 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(calleeRtp.got.length).toBe(before);
    expect(await s.proxy.stop()).toBe(0);
  });
});
