import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import { MemoryNetwork } from '../src/testing/index.js';
import { Inbox, request, response } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function pair(network: MemoryNetwork) {
  const inA = new Inbox();
  const inB = new Inbox();
  const a = network.createLeg({ address: '10.0.0.1', port: 5060, onReceive: inA.handler });
  const b = network.createLeg({ address: '10.0.0.2', port: 0, onReceive: inB.handler });
  await a.start();
  await b.start();
  cleanup.push(() => a.close(), () => b.close());
  return { a, b, inA, inB, toB: { transport: 'udp' as const, address: '10.0.0.2', port: b.port, family: 4 as const } };
}

describe('MemoryNetwork', () => {
  it('carries messages between legs with the same receive path as sockets', async () => {
    const net = new MemoryNetwork();
    const { a, b, inB, inA, toB } = await pair(net);
    expect(b.port).toBeGreaterThan(0);
    const sent = await a.send(parseMessage(request({ via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKm;rport' })), toB);
    expect(sent.ok).toBe(true);
    const { message, info } = await inB.next();
    expect(info.source).toEqual({ transport: 'udp', address: '10.0.0.1', port: 5060, family: 4 });
    expect(message.getHeader('via')).toBe('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKm;rport=5060;received=10.0.0.1');
    const answered = await b.send(parseMessage(response(message.getHeader('via') ?? '')));
    expect(answered.ok).toBe(true);
    expect((await inA.next()).message.isRequest).toBe(false);
    expect(net.packets.map((p) => p.text.split('\r\n')[0])).toEqual(['OPTIONS sip:bob@example.com SIP/2.0', 'SIP/2.0 200 OK']);
  });

  it('drops exactly what the drop predicate says', async () => {
    const net = new MemoryNetwork({ drop: (p) => p.text.includes('drop-me') });
    const { a, inB, toB } = await pair(net);
    await a.send(parseMessage(request({ callId: 'drop-me' })), toB);
    await a.send(parseMessage(request({ callId: 'keep-me' })), toB);
    await net.settle();
    await inB.next();
    expect(inB.items.map((i) => i.message.callId)).toEqual(['keep-me']);
    expect(net.packets.map((p) => p.dropped)).toEqual([true, false]);
  });

  it('drops a reproducible share with a seeded rate', async () => {
    const run = async (seed: number): Promise<boolean[]> => {
      const net = new MemoryNetwork({ dropRate: 0.5, seed });
      const { a, toB } = await pair(net);
      for (let i = 0; i < 40; i++) await a.send(parseMessage(request({ callId: `n${i}` })), toB);
      await net.settle();
      return net.packets.map((p) => p.dropped);
    };
    const first = await run(42);
    await Promise.all(cleanup.splice(0).map((fn) => fn()));
    const second = await run(42);
    expect(second).toEqual(first);
    const dropped = first.filter(Boolean).length;
    expect(dropped).toBeGreaterThan(5);
    expect(dropped).toBeLessThan(35);
  });

  it('duplicates and delays', async () => {
    const net = new MemoryNetwork({ duplicateRate: 1, delayMs: 30 });
    const { a, inB, toB } = await pair(net);
    const t0 = Date.now();
    await a.send(parseMessage(request()), toB);
    expect(inB.items).toHaveLength(0);
    await inB.next(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(net.packets[0]?.duplicated).toBe(true);
    net.configure({ duplicateRate: 0, delayMs: 0 });
    await a.send(parseMessage(request({ callId: 'once' })), toB);
    await net.settle();
    await inB.next(3);
    expect(inB.items).toHaveLength(3);
  });

  it('refuses stream sends to nobody and accepts datagrams to nobody', async () => {
    const net = new MemoryNetwork();
    const tcp = net.createLeg({ transport: 'tcp', address: '10.0.0.9', port: 0 });
    const udp = net.createLeg({ address: '10.0.0.9', port: 0 });
    await tcp.start();
    await udp.start();
    cleanup.push(() => tcp.close(), () => udp.close());
    expect(tcp.contact).toMatch(/;transport=tcp$/);
    expect(await tcp.send(parseMessage(request()), { transport: 'tcp', address: '10.0.0.8', port: 5060, family: 4 })).toMatchObject({ ok: false, code: 'CONNECT_FAILED' });
    expect(await udp.send(parseMessage(request()), { transport: 'udp', address: '10.0.0.8', port: 5060, family: 4 })).toMatchObject({ ok: true });
    expect(net.packets.every((p) => p.unreachable)).toBe(true);
  });

  it('refuses two legs on one address, port and transport', async () => {
    const net = new MemoryNetwork();
    const a = net.createLeg({ address: '10.0.0.1', port: 5060 });
    const b = net.createLeg({ address: '10.0.0.1', port: 5060 });
    await a.start();
    cleanup.push(() => a.close());
    await expect(b.start()).rejects.toMatchObject({ code: 'LEG_START_FAILED', message: expect.stringMatching(/in use/) });
  });
});
