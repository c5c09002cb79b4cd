/**
 * Routing has one owner, the dispatcher: the proxy uses the dispatcher's resolver (with its
 * configured next hops) when given none, and a refused connection to the first target fails
 * over to the next one (RFC 3263 §4.3) with the request edited once. Real sockets.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, SipResolver } from '@sipway/sip-leg';
import type { Destination, DestinationResolver } from '@sipway/sip-leg';
import { TcpLeg } from '@sipway/sip-leg/tcp';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { StatelessProxy } from '../src/index.js';
import type { ProxyOutcome } from '../src/index.js';
import { KEY } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function invite(uri: string, via: string, callId: string): string {
  return [
    `INVITE ${uri} SIP/2.0`,
    `Via: ${via};branch=z9hG4bK-${callId};rport`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.org>;tag=a1',
    `To: <${uri}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function udpPeer(): Promise<{ socket: UdpSocket; port: number; next: () => Promise<string> }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanup.push(() => socket.close());
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (m) => {
    queue.push(m.toString('latin1'));
    wake?.();
  });
  const next = async (): Promise<string> => {
    const deadline = setTimeout(() => wake?.(), 5000);
    while (queue.length === 0) {
      const timedOut = await new Promise<boolean>((resolve) => {
        wake = () => resolve(queue.length === 0);
      });
      if (timedOut) throw new Error('nothing received in 5 s');
    }
    clearTimeout(deadline);
    return queue.shift()!;
  };
  return { socket, port: socket.address().port, next };
}

async function start(dispatcher: Dispatcher, options: Omit<ConstructorParameters<typeof StatelessProxy>[0], 'dispatcher'>) {
  const proxy = new StatelessProxy({ dispatcher, contactKey: KEY, ...options });
  const outcomes: ProxyOutcome[] = [];
  let settled: ((o: ProxyOutcome) => void) | undefined;
  dispatcher.setReceiver({
    receive: (message, info) =>
      proxy.route(message, info).then((o) => {
        outcomes.push(o);
        settled?.(o);
      }),
  });
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  const outcome = (): Promise<ProxyOutcome> =>
    outcomes.length > 0 ? Promise.resolve(outcomes.shift()!) : new Promise((resolve) => (settled = (o) => resolve(outcomes.shift() ?? o)));
  return { proxy, outcome };
}

describe('routing through the dispatcher', () => {
  it('a proxy given no resolver uses the dispatcher one, with its configured next hops', async () => {
    const target = await udpPeer();
    const uac = await udpPeer();
    const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
    // example.invalid would never resolve in DNS: only the dispatcher's resolver knows it.
    const resolver = new SipResolver({ domain2proxy: { 'example.invalid': `127.0.0.1:${target.port}` } });
    cleanup.push(() => resolver.close());
    const { outcome } = await start(new Dispatcher({ legs: [leg], resolver }), { openRelay: true });
    uac.socket.send(invite('sip:bob@example.invalid', `SIP/2.0/UDP 127.0.0.1:${uac.port}`, 'one-resolver'), leg.port, '127.0.0.1');
    expect(await target.next()).toMatch(/^INVITE sip:bob@example\.invalid SIP\/2\.0\r\n/);
    expect(await outcome()).toMatchObject({ ok: true, destination: { address: '127.0.0.1', port: target.port } });
  });

  it('without any resolver a name is answered 503 at once, not looked up in system DNS', async () => {
    const uac = await udpPeer();
    const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
    const { outcome } = await start(new Dispatcher({ legs: [leg] }), { openRelay: true });
    uac.socket.send(invite('sip:bob@localhost', `SIP/2.0/UDP 127.0.0.1:${uac.port}`, 'no-resolver'), leg.port, '127.0.0.1');
    expect(await uac.next()).toMatch(/^SIP\/2\.0 503 /);
    expect(await outcome()).toMatchObject({ ok: false, status: 503, code: 'no-route' });
  });

  it('fails over to the second target when the first refuses the TCP connection, with one Via of ours', async () => {
    let data = '';
    let received: () => void = () => undefined;
    const whole = new Promise<void>((resolve) => (received = resolve));
    const sockets = new Set<Socket>();
    const live: Server = createServer((s) => {
      sockets.add(s);
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        data += d;
        if (data.includes('\r\n\r\n')) received();
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      live.close(() => resolve());
    }));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const livePort = (live.address() as { port: number }).port;
    const targets: Destination[] = [
      { transport: 'tcp', address: '127.0.0.1', port: deadPort, family: 4 },
      { transport: 'tcp', address: '127.0.0.1', port: livePort, family: 4 },
    ];
    const resolver: DestinationResolver = { resolve: async () => ({ ok: true, destinations: targets }) };
    const uac = await udpPeer();
    const udp = new UdpLeg({ address: '127.0.0.1', port: 0 });
    const tcp = new TcpLeg({ address: '127.0.0.1', port: 0 });
    const { outcome } = await start(new Dispatcher({ legs: [udp, tcp], resolver }), { openRelay: true });
    uac.socket.send(invite('sip:bob@example.net;transport=tcp', `SIP/2.0/UDP 127.0.0.1:${uac.port}`, 'failover'), udp.port, '127.0.0.1');
    expect(await outcome()).toMatchObject({ ok: true, destination: { transport: 'tcp', port: livePort } });
    await Promise.race([whole, new Promise((_, reject) => setTimeout(() => reject(new Error('nothing reached the second target')), 5000).unref())]);
    const vias = data.split('\r\n').filter((l) => l.startsWith('Via: '));
    // Ours for each leg (two-leg mode) and the caller's: no Via left behind by the failed try.
    expect(vias).toHaveLength(3);
    expect(vias[0]).toContain(`SIP/2.0/TCP 127.0.0.1:${tcp.port}`);
    expect(data.split('Record-Route: ').length - 1).toBe(2);
  });
});
