import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { parseMessage } from '@sipway/sip-message';
import { LEG_CHANNELS, LegClosedError } from '../src/index.js';
import type { LegErrorEvent } from '../src/index.js';
import { TcpLeg } from '../src/tcp/index.js';
import type { TcpLegOptions } from '../src/tcp/index.js';
import { FAMILIES, Inbox, StreamPeer, bracket, recordChannel, request, response, sleep } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function startLeg(address: string, options: TcpLegOptions = {}) {
  const inbox = new Inbox();
  const leg = new TcpLeg({ address, port: 0, onReceive: inbox.handler, ...options });
  await leg.start();
  cleanup.push(() => leg.close());
  return { leg, inbox };
}

async function connectPeer(address: string, port: number): Promise<StreamPeer> {
  const peer = await StreamPeer.connect(address, port);
  cleanup.push(() => peer.destroy());
  return peer;
}

/** A raw TCP server recording accepted sockets. */
async function rawServer(address: string): Promise<{ server: Server; port: number; peers: StreamPeer[] }> {
  const peers: StreamPeer[] = [];
  const server = createServer((s: Socket) => peers.push(new StreamPeer(s)));
  await new Promise<void>((r) => server.listen(0, address, () => r()));
  cleanup.push(() => {
    for (const p of peers) p.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const info = server.address();
  const port = typeof info === 'object' && info !== null ? info.port : 0;
  return { server, port, peers };
}

describe.each(FAMILIES)('TCP leg over $name', ({ address, family }) => {
  it('has a TCP identity', async () => {
    const { leg } = await startLeg(address);
    expect(leg.contact).toBe(`sip:${bracket(address)}:${leg.port};transport=tcp`);
    expect(leg.recordRoute).toBe(`<sip:${bracket(address)}:${leg.port};transport=tcp;lr>`);
    expect(leg.via('z9hG4bKx')).toBe(`SIP/2.0/TCP ${bracket(address)}:${leg.port};branch=z9hG4bKx`);
    expect(leg.canDeliverTo({ transport: 'udp', family })).toBe(false);
    expect(leg.canDeliverTo({ transport: 'tcp', family })).toBe(true);
  });

  it('frames messages split across reads and several in one read', async () => {
    const { leg, inbox } = await startLeg(address);
    const peer = await connectPeer(address, leg.port);
    const one = request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bK1', callId: 'c1', body: 'hello' });
    const two = request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bK2', callId: 'c2' });
    peer.write(one.slice(0, 40));
    await sleep(20); // two separate reads: the split is what is tested
    peer.write(one.slice(40) + two);
    await inbox.next(2);
    expect(inbox.items.map((i) => i.message.callId)).toEqual(['c1', 'c2']);
    const first = inbox.items[0];
    expect(Buffer.from(first?.message.body ?? []).toString()).toBe('hello');
    expect(first?.info.source).toEqual({ transport: 'tcp', address, port: peer.socket.localPort, family });
    expect(first?.info.connection?.direction).toBe('inbound');
    expect(first?.message.getHeader('via')).toBe(`SIP/2.0/TCP client.invalid;branch=z9hG4bK1;received=${address}`);
  });

  it('sends a response back on the connection its request came on (RFC 3261 §18.2.2)', async () => {
    const { leg, inbox } = await startLeg(address);
    const peer = await connectPeer(address, leg.port);
    // sent-by names a port nobody listens on: only the existing connection can reach the client.
    peer.write(request({ via: 'SIP/2.0/TCP client.invalid:9;branch=z9hG4bKr;rport' }));
    const { message } = await inbox.next();
    expect(message.getHeader('via')).toBe(`SIP/2.0/TCP client.invalid:9;branch=z9hG4bKr;rport=${peer.socket.localPort};received=${address}`);
    const result = await leg.send(parseMessage(response(message.getHeader('via') ?? '')));
    expect(result.ok).toBe(true);
    await peer.waitFor((d) => d.startsWith('SIP/2.0 200 OK\r\n'));
    expect(leg.connections).toHaveLength(1);
  });

  it('opens a new connection to received and the sent-by port when the request connection is gone (RFC 3261 §18.2.2)', async () => {
    const { leg, inbox } = await startLeg(address);
    const raw = await rawServer(address);
    const peer = await connectPeer(address, leg.port);
    peer.write(request({ via: `SIP/2.0/TCP client.invalid:${raw.port};branch=z9hG4bKgone` }));
    const { message } = await inbox.next();
    peer.destroy();
    await until(() => leg.connections.length === 0);
    const result = await leg.send(parseMessage(response(message.getHeader('via') ?? '')));
    expect(result).toMatchObject({ ok: true, destination: { address, port: raw.port } });
    await until(() => raw.peers[0]?.data.startsWith('SIP/2.0 200 OK') ?? false);
  });

  it('answers a CRLFCRLF keep-alive with CRLF and never hands it to the receiver (RFC 5626 §4.4.1)', async () => {
    const { leg, inbox } = await startLeg(address);
    const peer = await connectPeer(address, leg.port);
    peer.write('\r\n\r\n');
    await peer.waitFor((d) => d === '\r\n');
    peer.write(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKk' }));
    await inbox.next();
    expect(inbox.items).toHaveLength(1);
    expect(peer.data).toBe('\r\n');
  });

  it('closes only the connection that lost framing', async () => {
    const { leg, inbox } = await startLeg(address);
    const errors = recordChannel<LegErrorEvent>(LEG_CHANNELS.error);
    cleanup.push(errors.stop);
    const bad = await connectPeer(address, leg.port);
    const good = await connectPeer(address, leg.port);
    bad.write('OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKb\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: abc\r\n\r\n');
    await bad.waitClosed();
    expect(errors.events.some((e) => e.leg === leg && e.kind === 'framing-lost')).toBe(true);
    good.write(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKg' }));
    await inbox.next();
    expect(good.closed).toBe(false);
  });

  it('opens a connection for a request and reuses it', async () => {
    const { leg } = await startLeg(address);
    const raw = await rawServer(address);
    const dest = { transport: 'tcp' as const, address, port: raw.port, family };
    const [r1, r2] = await Promise.all([
      leg.send(parseMessage(request({ callId: 'o1' })), dest),
      leg.send(parseMessage(request({ callId: 'o2' })), dest),
    ]);
    expect(r1.ok && r2.ok).toBe(true);
    await until(() => raw.peers.length === 1 && (raw.peers[0]?.data.includes('o2') ?? false) && (raw.peers[0]?.data.includes('o1') ?? false));
    const r3 = await leg.send(parseMessage(request({ callId: 'o3' })), dest);
    expect(r3.ok).toBe(true);
    await until(() => raw.peers[0]?.data.includes('o3') ?? false);
    expect(raw.peers).toHaveLength(1);
    expect(raw.peers[0]?.socket.remoteAddress?.replace(/^::ffff:/, '')).toBe(address);
    expect(r3.ok && r3.connection?.direction).toBe('outbound');
  });

  it('reaches a peer through the connection the peer opened to us (RFC 5923)', async () => {
    const { leg, inbox } = await startLeg(address);
    const peer = await connectPeer(address, leg.port);
    peer.write(request({ method: 'REGISTER', via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKreg' }));
    const { info } = await inbox.next();
    const result = await leg.send(parseMessage(request({ method: 'INVITE', callId: 'to-peer' })), {
      transport: 'tcp',
      address: info.source.address,
      port: info.source.port,
      family,
    });
    expect(result.ok).toBe(true);
    expect(result.ok && result.connection).toBe(info.connection);
    await peer.waitFor((d) => d.includes('to-peer'));
  });

  it('returns CONNECT_FAILED when nobody listens', async () => {
    const { leg } = await startLeg(address);
    const raw = await rawServer(address);
    const port = raw.port;
    await new Promise<void>((r) => raw.server.close(() => r()));
    const result = await leg.send(parseMessage(request()), { transport: 'tcp', address, port, family });
    expect(result).toMatchObject({ ok: false, code: 'CONNECT_FAILED', status: 503 });
  });

  it('closes idle connections', async () => {
    const { leg } = await startLeg(address, { idleTimeoutMs: 150 });
    const peer = await connectPeer(address, leg.port);
    await peer.waitClosed(3000);
    await until(() => leg.connections.length === 0);
  });

  it('refuses connections beyond maxConnections', async () => {
    const { leg, inbox } = await startLeg(address, { maxConnections: 1 });
    const first = await connectPeer(address, leg.port);
    await until(() => leg.connections.length === 1);
    const second = await connectPeer(address, leg.port);
    await second.waitClosed();
    first.write(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKm' }));
    await inbox.next();
    const out = await leg.send(parseMessage(request()), { transport: 'tcp', address, port: 9, family });
    expect(out).toMatchObject({ ok: false, code: 'TOO_MANY_CONNECTIONS' });
  });

  it('closes a connection that buffers more than maxBufferedBytes', async () => {
    const { leg } = await startLeg(address, { maxBufferedBytes: 1000 });
    const peer = await connectPeer(address, leg.port);
    peer.write(`OPTIONS sip:x SIP/2.0\r\nX-Fill: ${'a'.repeat(1500)}`);
    await peer.waitClosed();
  });

  it('close ends connections and later use is a typed error', async () => {
    const { leg } = await startLeg(address);
    const peer = await connectPeer(address, leg.port);
    await until(() => leg.connections.length === 1);
    await leg.close();
    await peer.waitClosed();
    await expect(leg.send(parseMessage(request()), { transport: 'tcp', address, port: 9, family })).rejects.toBeInstanceOf(LegClosedError);
  });

  it('talks to another TCP leg in both directions', async () => {
    const a = await startLeg(address);
    const b = await startLeg(address);
    const sent = await a.leg.send(parseMessage(request({ via: a.leg.via(), callId: 'leg2leg' })), {
      transport: 'tcp',
      address,
      port: b.leg.port,
      family,
    });
    expect(sent.ok).toBe(true);
    const got = await b.inbox.next();
    // sent-by is a's listening port, the source is a's ephemeral port: only rport would show it.
    expect(got.message.getHeader('via')).toMatch(/^SIP\/2\.0\/TCP /);
    const answer = await b.leg.send(parseMessage(response(got.message.getHeader('via') ?? '', 200, 'OK', 'leg2leg')));
    expect(answer.ok && answer.connection).toBe(got.info.connection);
    const back = await a.inbox.next();
    expect(back.message.isRequest).toBe(false);
    expect(back.info.connection?.direction).toBe('outbound');
  });
});
