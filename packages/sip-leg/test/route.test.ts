/**
 * Dispatcher.route: the one owner of "where does this request go and through which leg" —
 * IP literals, RFC 3263 resolution with the dispatcher's resolver, transport preference, the
 * refusal filter, the own-address guard and RFC 3263 §4.3 failover, over real sockets.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import type { SipRequest } from '@sipway/sip-message';
import { Dispatcher } from '../src/index.js';
import type { Leg } from '../src/index.js';
import { SipResolver } from '../src/resolve/index.js';
import { TcpLeg } from '../src/tcp/index.js';
import { UdpLeg } from '../src/udp/index.js';
import { TestDnsServer } from './dns-server.js';
import { until } from '@sipway/test-peers';
import { UdpPeer, request } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await TestDnsServer.start();
});
afterAll(async () => {
  await dns.close();
});

/** A TCP listener that records what it reads. */
async function listener(address: string): Promise<{ server: Server; port: number; data: () => string }> {
  let data = '';
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      data += d;
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as { port: number }).port;
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { server, port, data: () => data };
}

/** A port nothing listens on: bound once, then closed (connecting to it is refused). */
async function refusingPort(address: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function setup(legs: Leg[], resolver?: SipResolver): Promise<Dispatcher> {
  const dispatcher = new Dispatcher({ legs, ...(resolver === undefined ? {} : { resolver }) });
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  return dispatcher;
}

function invite(uri: string, callId: string): SipRequest {
  return parseMessage(request({ method: 'INVITE', uri, callId })) as SipRequest;
}

describe('Dispatcher.route', () => {
  it('fails over to the second SRV target when the first refuses the connection (RFC 3263 §4.3), preparing once', async () => {
    const dead = await refusingPort('127.0.0.1');
    const live = await listener('127.0.0.1');
    dns
      .srv('_sip._tcp.failover.test', { priority: 10, weight: 0, port: dead, target: 'dead.failover.test' })
      .srv('_sip._tcp.failover.test', { priority: 20, weight: 0, port: live.port, target: 'live.failover.test' })
      .a('dead.failover.test', '127.0.0.1')
      .a('live.failover.test', '127.0.0.1');
    const resolver = new SipResolver({ servers: [dns.address], transports: ['tcp'] });
    cleanup.push(() => resolver.close());
    const tcp = new TcpLeg({ address: '127.0.0.1', port: 0 });
    const dispatcher = await setup([tcp], resolver);
    const prepared: Array<[Leg, number]> = [];
    const result = await dispatcher.route(invite('sip:bob@failover.test;transport=tcp', 'failover-1'), {
      prepare: (leg, d) => {
        prepared.push([leg, d.port]);
        return undefined;
      },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.destination.port).toBe(live.port);
    expect(result.tried).toBe(2);
    expect(prepared).toEqual([[tcp, dead]]);
    await until(() => live.data().includes('Call-ID: failover-1'), 5000, 'the INVITE at the second target');
    expect(live.data().split('INVITE sip:').length - 1).toBe(1);
  });

  it('fails over between A records of one name too, and reports the last failure when every target refuses', async () => {
    const dead1 = await refusingPort('127.0.0.1');
    dns
      .srv('_sip._tcp.alldead.test', { priority: 10, weight: 0, port: dead1, target: 'h.alldead.test' })
      .a('h.alldead.test', '127.0.0.1')
      .a('h.alldead.test', '127.0.0.2');
    const resolver = new SipResolver({ servers: [dns.address], transports: ['tcp'] });
    cleanup.push(() => resolver.close());
    const dispatcher = await setup([new TcpLeg({ address: '127.0.0.1', port: 0 })], resolver);
    const result = await dispatcher.route(invite('sip:bob@alldead.test;transport=tcp', 'alldead-1'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('CONNECT_FAILED');
    expect('tried' in result && result.tried).toBe(2);
    expect('status' in result && result.status).toBe(503);
  });

  it('uses the dispatcher resolver; without any resolver a name is a 503, never a bare system lookup', async () => {
    dns.a('named.test', '127.0.0.1');
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    cleanup.push(() => peer.close());
    const resolver = new SipResolver({ servers: [dns.address], transports: ['udp'] });
    cleanup.push(() => resolver.close());
    const withResolver = await setup([new UdpLeg({ address: '127.0.0.1', port: 0 })], resolver);
    const ok = await withResolver.route(invite(`sip:bob@named.test:${peer.port}`, 'named-1'));
    expect(ok.ok).toBe(true);
    expect((await peer.next()).text).toContain('Call-ID: named-1');
    const without = await setup([new UdpLeg({ address: '127.0.0.1', port: 0 })]);
    const failed = await without.route(invite(`sip:bob@named.test:${peer.port}`, 'named-2'));
    expect(failed).toMatchObject({ ok: false, code: 'RESOLVE_FAILED', status: 503 });
  });

  it('sends an IP-literal URI (and maddr) without a resolver, on the scheme/transport default port', async () => {
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    cleanup.push(() => peer.close());
    const dispatcher = await setup([new UdpLeg({ address: '127.0.0.1', port: 0 })]);
    const r = await dispatcher.route(invite(`sip:bob@example.com:${peer.port};maddr=127.0.0.1`, 'maddr-1'));
    expect(r).toMatchObject({ ok: true, destination: { transport: 'udp', address: '127.0.0.1', port: peer.port } });
    const bad = await dispatcher.route(invite('sip:bob@127.0.0.1;transport=sctp', 'sctp-1'));
    expect(bad).toMatchObject({ ok: false, code: 'NO_DESTINATION', status: 503 });
  });

  it('skips refused destinations, says 403 when every one is refused, and stops at one of its own legs', async () => {
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    cleanup.push(() => peer.close());
    const udp = new UdpLeg({ address: '127.0.0.1', port: 0 });
    const dispatcher = await setup([udp]);
    const refuseAll = await dispatcher.route(invite(`sip:bob@127.0.0.1:${peer.port}`, 'ref-1'), { refuse: () => 'loopback' });
    expect(refuseAll).toMatchObject({ ok: false, code: 'FORBIDDEN_DESTINATION', status: 403 });
    expect(!refuseAll.ok && 'detail' in refuseAll ? refuseAll.detail : '').toContain('127.0.0.1 (loopback)');
    const own = await dispatcher.route(invite(`sip:127.0.0.1:${udp.port}`, 'own-1'));
    expect(own).toMatchObject({ ok: false, code: 'OWN_ADDRESS', status: 482 });
    const refused = await dispatcher.route(invite(`sip:bob@127.0.0.1:${peer.port}`, 'ref-2'), { prepare: () => 'no' });
    expect(refused).toEqual({ ok: false, code: 'REFUSED', refusal: 'no' });
  });

  it('tries destinations over the incoming transport first', async () => {
    const tcpPeer = await listener('127.0.0.1');
    const udpPeer = new UdpPeer('udp4');
    await udpPeer.bind('127.0.0.1');
    cleanup.push(() => udpPeer.close());
    dns
      .srv('_sip._udp.pref.test', { priority: 10, weight: 0, port: udpPeer.port, target: 'u.pref.test' })
      .srv('_sip._tcp.pref.test', { priority: 10, weight: 0, port: tcpPeer.port, target: 't.pref.test' })
      .naptr('pref.test', { order: 10, preference: 10, services: 'SIP+D2U', replacement: '_sip._udp.pref.test' })
      .naptr('pref.test', { order: 20, preference: 10, services: 'SIP+D2T', replacement: '_sip._tcp.pref.test' })
      .a('u.pref.test', '127.0.0.1')
      .a('t.pref.test', '127.0.0.1');
    const resolver = new SipResolver({ servers: [dns.address], transports: ['udp', 'tcp'] });
    cleanup.push(() => resolver.close());
    const udp = new UdpLeg({ address: '127.0.0.1', port: 0 });
    const tcp = new TcpLeg({ address: '127.0.0.1', port: 0 });
    const dispatcher = await setup([udp, tcp], resolver);
    const source = { transport: 'tcp' as const, address: '127.0.0.1', port: 1, family: 4 as const };
    const r = await dispatcher.route(invite('sip:bob@pref.test', 'pref-1'), { incoming: { leg: tcp, source } as never });
    expect(r).toMatchObject({ ok: true, leg: tcp, destination: { transport: 'tcp', port: tcpPeer.port } });
  });
});
