import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { createResponse, parseMessage } from '@sipway/sip-message';
import type { SipMessage } from '@sipway/sip-message';
import { Dispatcher, LEG_CHANNELS, LegClosedError } from '../src/index.js';
import type { Destination, DestinationResolver, LegErrorEvent, ReceiveInfo } from '../src/index.js';
import { SipResolver } from '../src/resolve/index.js';
import { TcpLeg } from '../src/tcp/index.js';
import { MemoryNetwork } from '../src/testing/index.js';
import { UdpLeg } from '../src/udp/index.js';
import { Inbox, StreamPeer, UdpPeer, recordChannel, request } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const udp4 = (address: string, port: number): Destination => ({ transport: 'udp', address, port, family: 4 });
const tcp4 = (address: string, port: number): Destination => ({ transport: 'tcp', address, port, family: 4 });

async function memorySetup(resolver?: DestinationResolver) {
  const net = new MemoryNetwork();
  const udp = net.createLeg({ address: '10.0.0.1', port: 5060 });
  const tcp = net.createLeg({ address: '10.0.0.1', port: 5060, transport: 'tcp' });
  const udp6 = net.createLeg({ address: 'fd00::1', port: 5060 });
  const inbox = new Inbox();
  const dispatcher = new Dispatcher({ legs: [udp, tcp, udp6], receiver: { receive: inbox.handler }, ...(resolver ? { resolver } : {}) });
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  // Peers: one per transport and family.
  const peerUdp = net.createLeg({ address: '10.0.0.2', port: 5060 });
  const peerTcp = net.createLeg({ address: '10.0.0.2', port: 5060, transport: 'tcp' });
  const peerUdp6 = net.createLeg({ address: 'fd00::2', port: 5060 });
  const peers = { udp: new Inbox(), tcp: new Inbox(), udp6: new Inbox() };
  peerUdp.onReceive = peers.udp.handler;
  peerTcp.onReceive = peers.tcp.handler;
  peerUdp6.onReceive = peers.udp6.handler;
  for (const p of [peerUdp, peerTcp, peerUdp6]) {
    await p.start();
    cleanup.push(() => p.close());
  }
  return { net, dispatcher, udp, tcp, udp6, inbox, peers, peerUdp, peerTcp, peerUdp6 };
}

describe('Dispatcher', () => {
  it('starts its legs and hands received messages to the receiver with leg and source', async () => {
    const { dispatcher, udp, inbox, peerUdp } = await memorySetup();
    expect(dispatcher.legs.every((l) => l.state === 'listening')).toBe(true);
    await peerUdp.send(parseMessage(request()), udp4('10.0.0.1', 5060));
    const { info } = await inbox.next();
    expect(info.leg).toBe(udp);
    expect(info.source).toEqual({ transport: 'udp', address: '10.0.0.2', port: 5060, family: 4 });
  });

  it('picks the leg by transport and family', async () => {
    const s = await memorySetup();
    const r1 = await s.dispatcher.deliver(parseMessage(request({ callId: 'u' })), { destination: udp4('10.0.0.2', 5060) });
    const r2 = await s.dispatcher.deliver(parseMessage(request({ callId: 't' })), { destination: tcp4('10.0.0.2', 5060) });
    const r3 = await s.dispatcher.deliver(parseMessage(request({ callId: 'v6' })), {
      destination: { transport: 'udp', address: 'fd00::2', port: 5060, family: 6 },
    });
    expect(r1.ok && r1.leg).toBe(s.udp);
    expect(r2.ok && r2.leg).toBe(s.tcp);
    expect(r3.ok && r3.leg).toBe(s.udp6);
    expect((await s.peers.udp.next()).message.callId).toBe('u');
    expect((await s.peers.tcp.next()).message.callId).toBe('t');
    expect((await s.peers.udp6.next()).message.callId).toBe('v6');
  });

  it('never pairs a TCP leg with a UDP destination (Net::SIP issue #68)', async () => {
    const net = new MemoryNetwork();
    const tcpOnly = net.createLeg({ address: '10.0.0.1', port: 5060, transport: 'tcp' });
    const dispatcher = new Dispatcher({ legs: [tcpOnly] });
    await dispatcher.start();
    cleanup.push(() => dispatcher.close());
    const peer = net.createLeg({ address: '10.0.0.3', port: 5060, transport: 'tcp' });
    const got = new Inbox();
    peer.onReceive = got.handler;
    await peer.start();
    cleanup.push(() => peer.close());
    // Resolution yielded a UDP destination first (two A records, two transports): the TCP one must be used.
    const result = await dispatcher.deliver(parseMessage(request()), { destination: [udp4('10.0.0.2', 5060), tcp4('10.0.0.3', 5060)] });
    expect(result.ok && result.destination).toEqual(tcp4('10.0.0.3', 5060));
    await got.next();
    const none = await dispatcher.deliver(parseMessage(request()), { destination: udp4('10.0.0.2', 5060) });
    expect(none).toMatchObject({ ok: false, status: 503, code: 'NO_LEG' });
    expect(net.packets.every((p) => p.from.transport === p.to.transport)).toBe(true);
  });

  it('prefers the transport the request came in on', async () => {
    const s = await memorySetup();
    const both = [udp4('10.0.0.2', 5060), tcp4('10.0.0.2', 5060)];
    const viaTcp = await s.dispatcher.deliver(parseMessage(request()), { destination: both, preferTransport: 'tcp' });
    expect(viaTcp.ok && viaTcp.leg).toBe(s.tcp);
    const plain = await s.dispatcher.deliver(parseMessage(request()), { destination: both });
    expect(plain.ok && plain.leg).toBe(s.udp);
    const onlyLeg = await s.dispatcher.deliver(parseMessage(request()), { destination: both, leg: s.tcp });
    expect(onlyLeg.ok && onlyLeg.leg).toBe(s.tcp);
  });

  it('resolves a URI with the RFC 3263 resolver when no destination is given', async () => {
    const resolver = new SipResolver({ domain2proxy: { 'example.com': 'sip:10.0.0.2:5060;transport=tcp' } });
    const s = await memorySetup(resolver);
    const viaMap = await s.dispatcher.deliver(parseMessage(request({ uri: 'sip:bob@example.com', callId: 'map' })));
    expect(viaMap.ok && viaMap.destination).toEqual(tcp4('10.0.0.2', 5060));
    const literal = await s.dispatcher.deliver(parseMessage(request({ callId: 'lit' })), { uri: 'sip:carol@[fd00::2]:5060;transport=udp' });
    expect(literal.ok && literal.leg).toBe(s.udp6);
    expect((await s.peers.tcp.next()).message.callId).toBe('map');
    expect((await s.peers.udp6.next()).message.callId).toBe('lit');
  });

  it('returns resolver failures and missing resolvers as values', async () => {
    const failing: DestinationResolver = { resolve: () => Promise.resolve({ ok: false, status: 404, reason: 'no such domain' }) };
    const s = await memorySetup(failing);
    expect(await s.dispatcher.deliver(parseMessage(request()))).toMatchObject({ ok: false, status: 404, code: 'RESOLVE_FAILED' });
    const bare = new Dispatcher();
    await bare.start();
    expect(await bare.deliver(parseMessage(request()))).toMatchObject({ ok: false, status: 503, code: 'RESOLVE_FAILED' });
    await bare.close();
  });

  it('sends responses by their Via, on the leg they came in on', async () => {
    const s = await memorySetup();
    await s.peerUdp.send(parseMessage(request({ via: 'SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKd;rport' })), udp4('10.0.0.1', 5060));
    const { message, info } = await s.inbox.next();
    if (!message.isRequest) throw new Error('expected a request');
    const answer = await s.dispatcher.deliver(createResponse(message, 200), { incoming: info });
    expect(answer.ok && answer.leg).toBe(s.udp);
    expect((await s.peers.udp.next()).message.isRequest).toBe(false);
    // Without receive info the top Via alone finds the way.
    const again = await s.dispatcher.deliver(createResponse(message, 486));
    expect(again.ok && again.destination).toEqual(udp4('10.0.0.2', 5060));
  });

  it('survives a receiver that throws or rejects', async () => {
    const net = new MemoryNetwork();
    const leg = net.createLeg({ address: '10.0.0.1', port: 5060 });
    let calls = 0;
    const dispatcher = new Dispatcher({
      legs: [leg],
      receiver: {
        receive: (m: SipMessage) => {
          calls++;
          if (m.callId === 'sync') throw new Error('sync boom');
          return Promise.reject(new Error('async boom'));
        },
      },
    });
    const errors = recordChannel<LegErrorEvent>(LEG_CHANNELS.error);
    cleanup.push(errors.stop);
    await dispatcher.start();
    cleanup.push(() => dispatcher.close());
    const peer = net.createLeg({ address: '10.0.0.2', port: 5060 });
    await peer.start();
    cleanup.push(() => peer.close());
    await peer.send(parseMessage(request({ callId: 'sync' })), udp4('10.0.0.1', 5060));
    await peer.send(parseMessage(request({ callId: 'async' })), udp4('10.0.0.1', 5060));
    await until(() => errors.events.filter((e) => e.kind === 'receiver-failed').length === 2);
    expect(calls).toBe(2);
  });

  it('close is idempotent, closes the legs, and deliver after close is a typed error', async () => {
    const s = await memorySetup();
    const a = s.dispatcher.close();
    expect(s.dispatcher.close()).toBe(a);
    await a;
    expect(s.dispatcher.legs.every((l) => l.state === 'closed')).toBe(true);
    await expect(s.dispatcher.deliver(parseMessage(request()), { destination: udp4('10.0.0.2', 5060) })).rejects.toBeInstanceOf(LegClosedError);
    await expect(s.dispatcher.start()).rejects.toBeInstanceOf(LegClosedError);
  });

  it('closes the started legs when one fails to start', async () => {
    const first = new UdpLeg({ port: 0 });
    await first.start();
    cleanup.push(() => first.close());
    const ok = new UdpLeg({ port: 0 });
    const clash = new UdpLeg({ port: first.port });
    const dispatcher = new Dispatcher({ legs: [ok, clash] });
    await expect(dispatcher.start()).rejects.toMatchObject({ code: 'LEG_START_FAILED' });
    expect(ok.state).toBe('closed');
  });

  it('picks the IPv6 or IPv4 socket leg by destination family', async () => {
    const v4 = new UdpLeg({ address: '127.0.0.1', port: 0 });
    const v6 = new UdpLeg({ address: '::1', port: 0 });
    const dispatcher = new Dispatcher({ legs: [v4, v6] });
    await dispatcher.start();
    cleanup.push(() => dispatcher.close());
    const peer6 = new UdpPeer('udp6');
    await peer6.bind('::1');
    cleanup.push(() => peer6.close());
    const result = await dispatcher.deliver(parseMessage(request()), { destination: { transport: 'udp', address: '::1', port: peer6.port, family: 6 } });
    expect(result.ok && result.leg).toBe(v6);
    const got = await peer6.next();
    expect(got.port).toBe(v6.port);
  });

  it('works over real UDP and TCP sockets: receiver answers on the path of the request', async () => {
    const udp = new UdpLeg({ port: 0 });
    const tcp = new TcpLeg({ port: 0 });
    const dispatcher = new Dispatcher({
      legs: [udp, tcp],
      receiver: {
        receive: (message: SipMessage, info: ReceiveInfo) => {
          if (message.isRequest) void dispatcher.deliver(createResponse(message, 200), { incoming: info });
        },
      },
    });
    await dispatcher.start();
    cleanup.push(() => dispatcher.close());
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    cleanup.push(() => peer.close());
    await peer.send(request({ via: 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKu;rport' }), udp.port, '127.0.0.1');
    expect((await peer.next()).text).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    const stream = await StreamPeer.connect('127.0.0.1', tcp.port);
    cleanup.push(() => stream.destroy());
    stream.write(request({ via: 'SIP/2.0/TCP client.invalid:1;branch=z9hG4bKt' }));
    await stream.waitFor((d) => d.startsWith('SIP/2.0 200 OK\r\n'));
  });
});
