import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RtpengineClient } from '@sipway/media-relay';
import { freePort, startRtpengine, until, type RtpengineDaemon } from '@sipway/test-peers';
import { MAIN, cleanup, startProxy } from './helpers.js';
import type { ProxyProcess } from './helpers.js';
import { RtpEndpoint, SipPeer, audioSdp, bracket, calleeDialog, closePeers, confirmAsCaller, mediaOf, newCall, socketCount } from './media-peers.js';
import type { Msg } from './media-peers.js';

// The example proxy with `--media rtpengine:HOST:PORT` against a real rtpengine (userspace, on
// loopback, started here): calls across two legs carry audio through rtpengine, BYE and CANCEL
// delete the call in rtpengine, a WebSocket (WebRTC) caller reaches a UDP phone with the SDP of
// each side's kind, and an rtpengine that is not there stops the start with a clear error.

let daemon: RtpengineDaemon;
let control: RtpengineClient;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  // --delete-delay=0: a deleted call frees its ports at once (the packaged default keeps it 30 s).
  daemon = await startRtpengine({ interfaces: ['127.0.0.1', '::1'], args: ['--delete-delay=0'] });
  control = await RtpengineClient.connect({ host: daemon.host, port: daemon.port });
});
afterAll(async () => {
  await control?.close();
  await daemon?.stop();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  closePeers();
  await cleanup();
});

const media = (): string => `rtpengine:${daemon.host}:${daemon.port}`;
const callExists = (callId: string): Promise<boolean> =>
  control.request({ command: 'query', 'call-id': callId }).then(
    () => true,
    () => false,
  );

/** Runs the CLI to completion (bounded) for the start-up error paths. */
function runCli(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

describe('start-up with --media rtpengine', () => {
  it('nothing listens at the rtpengine address: exit 1 at once, naming the address', async () => {
    const port = await freePort();
    const r = await runCli(['--leg', 'udp:127.0.0.1:0', '--media', `rtpengine:127.0.0.1:${port}`, '--log-level', 'silent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sipway-proxy: cannot start: rtpengine at 127.0.0.1:${port} refused the ping (ICMP port unreachable): is rtpengine running with --listen-ng=127.0.0.1:${port}?`);
  });

  it('an rtpengine that does not answer (stopped): exit 1 after 3 tries of 1 s, naming the address', async () => {
    const hung = await startRtpengine();
    await hung.pause();
    try {
      const r = await runCli(['--leg', 'udp:127.0.0.1:0', '--media', `rtpengine:127.0.0.1:${hung.port}`, '--log-level', 'silent']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`rtpengine at 127.0.0.1:${hung.port} did not answer ping within 3000 ms (3 tries)`);
      expect(r.ms).toBeGreaterThanOrEqual(3000);
      expect(r.ms).toBeLessThan(15_000);
    } finally {
      await hung.stop();
    }
  });

  it('a leg on a wildcard address is fine with rtpengine (it writes its own addresses); the built-in relay refuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipway-rtpengine-'));
    const file = join(dir, 'proxy.yaml');
    const yaml = (m: string) => `legs:\n  - leg: udp:0.0.0.0:0\n    host: 127.0.0.1\nmedia: ${m}\nlog-level: warn\n`;
    writeFileSync(file, yaml(media()));
    const proxy = await startProxy(['--config', file], 1);
    expect(await proxy.stop()).toBe(0);
    writeFileSync(file, yaml('builtin'));
    const r = await runCli(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs every leg bound to a specific address');
  });
});

interface Net {
  name: string;
  outsideTransport: 'udp' | 'tcp';
  /** Leg addresses (inside, outside), phone addresses (caller, callee), rtpengine's address towards them. */
  inside: string;
  outside: string;
  caller: string;
  callee: string;
  relay: string;
}

async function twoLegs(net: Net): Promise<{ proxy: ProxyProcess; caller: SipPeer; callee: SipPeer; route: string[]; target: (p: SipPeer) => string }> {
  const proxy = await startProxy(
    ['--leg', `udp:${bracket(net.inside)}:0`, '--leg', `${net.outsideTransport}:${bracket(net.outside)}:0`, '--domain', '*', '--media', media(), '--log-level', 'warn'],
    2,
  );
  const [inside, outside] = [proxy.legs[0]!, proxy.legs[1]!];
  const caller = await SipPeer.start('udp', net.caller, { host: inside.address, port: inside.port });
  const callee = await SipPeer.start(net.outsideTransport, net.callee, { host: outside.address, port: outside.port });
  // A preloaded Route to the outside leg (UDP); over TCP the transport picks it.
  const route = net.outsideTransport === 'udp' ? [`<sip:${bracket(outside.address)}:${outside.port};lr>`] : [];
  const target = (p: SipPeer) => `sip:bob@${bracket(p.address)}:${p.port}${net.outsideTransport === 'tcp' ? ';transport=tcp' : ''}`;
  return { proxy, caller, callee, route, target };
}

const V4 = { inside: '127.0.0.1', outside: '127.0.0.2', caller: '127.0.0.3', callee: '127.0.0.4', relay: '127.0.0.1' };
const V6 = { inside: '::1', outside: '::1', caller: '::1', callee: '::1', relay: '::1' };

describe.each<Net>([
  { name: 'IPv4 UDP to UDP', outsideTransport: 'udp', ...V4 },
  { name: 'IPv4 UDP to TCP', outsideTransport: 'tcp', ...V4 },
  { name: 'IPv6 UDP to TCP', outsideTransport: 'tcp', ...V6 },
])('calls across two legs through rtpengine ($name)', (net) => {
  it('both SDPs point at rtpengine, 100 packets each way arrive (>= 95) from it, BYE deletes the call in rtpengine', async () => {
    const { proxy, caller, callee, route, target } = await twoLegs(net);
    const baseSockets = socketCount(proxy.child.pid!);
    const callerRtp = await RtpEndpoint.open(net.caller);
    const calleeRtp = await RtpEndpoint.open(net.callee);

    const d = newCall(caller, target(callee), route);
    await caller.send(d.request('INVITE', { sdp: audioSdp(net.caller, callerRtp.port) }));
    const invite = await callee.wait((m) => m.method === 'INVITE', 'INVITE at the callee');
    await callee.reply(invite, 180, 'Ringing', { toTag: 'callee1' });
    await callee.reply(invite, 200, 'OK', { toTag: 'callee1', sdp: audioSdp(net.callee, calleeRtp.port) });
    const ok = await caller.wait((m) => m.status === 200 && m.method === 'INVITE', '200 at the caller');
    confirmAsCaller(d, ok);
    await caller.send(d.request('ACK', { cseq: d.cseq }));

    const towardCallee = mediaOf(invite.body);
    const towardCaller = mediaOf(ok.body);
    for (const m of [towardCallee, towardCaller]) {
      expect(m.address).toBe(net.relay);
      expect(m.port).toBeGreaterThanOrEqual(daemon.portMin);
      expect(m.port).toBeLessThanOrEqual(daemon.portMax);
    }
    expect(towardCallee.port).not.toBe(towardCaller.port);
    expect(invite.body).toContain('a=rtpmap:101 telephone-event/8000\r\n');
    expect(await callExists(invite.header('call-id')!)).toBe(true);
    // Media does not go through the proxy process: no socket of its own per call.
    expect(socketCount(proxy.child.pid!)).toBe(baseSockets);

    await Promise.all([callerRtp.stream(towardCaller), calleeRtp.stream(towardCallee)]);
    await until(() => calleeRtp.got.length >= 100 && callerRtp.got.length >= 100, 3000, 'the last packets').catch(() => undefined);
    const from = (ep: RtpEndpoint, m: { address: string; port: number }) => ep.got.filter((p) => p.from.address === m.address && p.from.port === m.port).length;
    expect(from(calleeRtp, towardCallee)).toBeGreaterThanOrEqual(95);
    expect(from(callerRtp, towardCaller)).toBeGreaterThanOrEqual(95);

    // BYE from the callee (tags reversed) ends the call in rtpengine.
    const back = calleeDialog(callee, invite, 'callee1');
    const mark = caller.received.length;
    await callee.send(back.request('BYE'));
    const bye = await caller.wait((m) => m.method === 'BYE', 'BYE at the caller', 10_000, mark);
    await caller.reply(bye, 200, 'OK');
    await until(async () => !(await callExists(invite.header('call-id')!)), 5000, 'rtpengine to delete the call');
    const before = calleeRtp.got.length;
    await callerRtp.stream(towardCaller, 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(calleeRtp.got.length).toBe(before);
    expect(await proxy.stop()).toBe(0);
  });

  it('CANCEL before the answer deletes the call in rtpengine', async () => {
    const { proxy, caller, callee, route, target } = await twoLegs(net);
    const d = newCall(caller, target(callee), route);
    const branch = 'z9hG4bK-rtpengine-cancel';
    await caller.send(d.request('INVITE', { sdp: audioSdp(net.caller, 40_000), branch }));
    const invite = await callee.wait((m) => m.method === 'INVITE', 'INVITE at the callee');
    const callId = invite.header('call-id')!;
    expect(await callExists(callId)).toBe(true);
    await callee.reply(invite, 180, 'Ringing', { toTag: 'callee2' });
    await caller.wait((m) => m.status === 180, '180 at the caller');
    await caller.send(d.request('CANCEL', { branch }));
    const cancel = await callee.wait((m) => m.method === 'CANCEL', 'CANCEL at the callee');
    await callee.reply(cancel, 200, 'OK');
    await callee.reply(invite, 487, 'Request Terminated', { toTag: 'callee2' });
    await caller.wait((m) => m.status === 487, '487 at the caller');
    await until(async () => !(await callExists(callId)), 5000, 'rtpengine to delete the call');
    expect(await proxy.stop()).toBe(0);
  });
});

describe('rtpengine failing mid-way', () => {
  it('an INVITE whose offer rtpengine cannot take is answered 503 and the proxy keeps running', async () => {
    const dying = await startRtpengine();
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--leg', 'udp:127.0.0.2:0', '--domain', '*', '--media', `rtpengine:127.0.0.1:${dying.port}`, '--log-level', 'warn'],
      2,
    );
    const [inside, outside] = [proxy.legs[0]!, proxy.legs[1]!];
    const caller = await SipPeer.start('udp', '127.0.0.3', { host: inside.address, port: inside.port });
    const callee = await SipPeer.start('udp', '127.0.0.4', { host: outside.address, port: outside.port });
    await dying.stop();
    const d = newCall(caller, `sip:bob@127.0.0.4:${callee.port}`, [`<sip:${outside.address}:${outside.port};lr>`]);
    await caller.send(d.request('INVITE', { sdp: audioSdp('127.0.0.3', 40_002) }));
    const refused = await caller.wait((m) => m.status === 503, '503 at the caller', 15_000);
    expect(refused.header('cseq')).toBe('1 INVITE');
    expect(callee.received.some((m) => m.method === 'INVITE')).toBe(false);
    expect(proxy.child.exitCode).toBeNull();
    expect(await proxy.stop()).toBe(0);
  });
});

/** A browser's SDP offer as Chrome writes it (JSEP): BUNDLE, ICE, DTLS fingerprint, rtcp-mux. */
function browserOffer(port: number): string {
  const fingerprint = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':');
  return [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS stream',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1467250027 1 udp 2122260223 127.0.0.1 ${port} typ host generation 0`,
    'a=ice-ufrag:Kx9p',
    'a=ice-pwd:7rAw1zZfWnbq3yZ2Tzv0mR4Y',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:126 telephone-event/8000',
    '',
  ].join('\r\n');
}

describe('a WebSocket (WebRTC) caller and a UDP phone', () => {
  it('the phone gets plain RTP/AVP without ICE or DTLS, the browser gets UDP/TLS/RTP/SAVPF with ICE and a fingerprint', async () => {
    const proxy = await startProxy(['--leg', 'ws:127.0.0.1:0', '--leg', 'udp:127.0.0.2:0', '--domain', '*', '--media', media(), '--log-level', 'warn'], 2);
    const wsLeg = proxy.legs.find((l) => l.transport === 'ws')!;
    const udpLeg = proxy.legs.find((l) => l.transport === 'udp')!;
    const phone = await SipPeer.start('udp', '127.0.0.4', { host: udpLeg.address, port: udpLeg.port });
    const phoneRtp = await RtpEndpoint.open('127.0.0.4');

    const ws = new WebSocket(`ws://127.0.0.1:${wsLeg.port}/`, 'sip');
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const lp = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    const got: string[] = [];
    ws.on('message', (data) => got.push(data.toString()));
    const callId = `ws-${Date.now()}@browser`;
    const sdp = browserOffer(50_000);
    ws.send(
      [
        `INVITE sip:bob@127.0.0.4:${phone.port} SIP/2.0`,
        `Via: SIP/2.0/WS ${bracket('127.0.0.1')}:${lp};branch=z9hG4bK-ws-invite-1`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=browser1',
        `To: <sip:bob@127.0.0.4:${phone.port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@127.0.0.1:${lp};transport=ws>`,
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        '',
        sdp,
      ].join('\r\n'),
    );
    const invite: Msg = await phone.wait((m) => m.method === 'INVITE', 'INVITE at the phone');
    const forPhone = invite.body;
    expect(forPhone).toMatch(/^m=audio \d+ RTP\/AVP /m);
    for (const attr of ['a=candidate', 'a=ice-ufrag', 'a=fingerprint', 'a=setup', 'a=rtcp-mux', 'a=crypto']) expect(forPhone).not.toContain(attr);
    expect(mediaOf(forPhone).address).toBe('127.0.0.1');

    await phone.reply(invite, 200, 'OK', { toTag: 'phone1', sdp: audioSdp('127.0.0.4', phoneRtp.port) });
    await until(() => got.some((m) => m.startsWith('SIP/2.0 200')), 10_000, '200 over the WebSocket');
    const ok = got.find((m) => m.startsWith('SIP/2.0 200'))!;
    const forBrowser = ok.slice(ok.indexOf('\r\n\r\n') + 4);
    expect(forBrowser).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
    expect(forBrowser).toMatch(/^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r$/m);
    expect(forBrowser).toMatch(/^a=setup:(active|passive)\r$/m);
    expect(forBrowser).toContain('a=rtcp-mux');
    expect(forBrowser).toMatch(/^a=ice-ufrag:/m);
    const port = mediaOf(forBrowser).port;
    expect(forBrowser).toContain(` 127.0.0.1 ${port} typ host`);

    // The phone's RTP reaches rtpengine, which keeps it for the browser until ICE and DTLS complete.
    await phoneRtp.stream(mediaOf(forPhone), 20);
    const query = JSON.stringify((await control.request({ command: 'query', 'call-id': callId })).dict);
    expect(query).toContain('"protocol":"UDP/TLS/RTP/SAVPF"');
    expect(query).toContain('"protocol":"RTP/AVP"');
    expect(Number(/"RTP":\{"packets":(\d+)/.exec(query)?.[1])).toBeGreaterThanOrEqual(19);
    expect(await proxy.stop()).toBe(0);
    await control.request({ command: 'delete', 'call-id': callId, 'from-tag': 'browser1' });
  });
});
