import { afterEach, describe, expect, it } from 'vitest';
import { pinoCapture, until } from '@sipway/test-peers';
import { parseMessage } from '@sipway/sip-message';
import { LegClosedError, SipLegError, LEG_CHANNELS } from '../src/index.js';
import type { LegErrorEvent, LegLogger } from '../src/index.js';
import { UdpLeg } from '../src/udp/index.js';
import { FAMILIES, Inbox, UdpPeer, bracket, recordChannel, request, response, sleep } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(address: string, type: 'udp4' | 'udp6') {
  const inbox = new Inbox();
  const leg = new UdpLeg({ address, port: 0, onReceive: inbox.handler });
  await leg.start();
  cleanup.push(() => leg.close());
  const peer = new UdpPeer(type);
  await peer.bind(address);
  cleanup.push(() => peer.close());
  return { leg, peer, inbox };
}

describe.each(FAMILIES)('UDP leg over $name', ({ address, family, udpType }) => {
  it('binds an ephemeral port and describes itself', async () => {
    const { leg } = await setup(address, udpType);
    expect(leg.port).toBeGreaterThan(0);
    expect(leg.family).toBe(family);
    expect(leg.state).toBe('listening');
    expect(leg.sentBy).toBe(`${bracket(address)}:${leg.port}`);
    expect(leg.contact).toBe(`sip:${bracket(address)}:${leg.port}`);
    expect(leg.recordRoute).toBe(`<sip:${bracket(address)}:${leg.port};lr>`);
    expect(leg.branchBase).toMatch(/^z9hG4bK[0-9a-f]{32}$/);
    expect(leg.via('z9hG4bKabc')).toBe(`SIP/2.0/UDP ${bracket(address)}:${leg.port};branch=z9hG4bKabc`);
    expect(leg.via()).toMatch(new RegExp(`;branch=${leg.branchBase}[0-9a-f]{16}$`));
  });

  it('stamps received and rport on the top Via of a request (RFC 3261 §18.2.1, RFC 3581 §4)', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    await peer.send(request(), leg.port, address);
    const { message, info } = await inbox.next();
    expect(info.source).toEqual({ transport: 'udp', address, port: peer.port, family });
    expect(info.leg).toBe(leg);
    expect(info.connection).toBeUndefined();
    expect(message.getHeader('via')).toBe(
      `SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKtest1;rport=${peer.port};received=${address}`,
    );
  });

  it('leaves the Via alone when sent-by is the source address and there is no rport', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    const via = `SIP/2.0/UDP ${bracket(address)}:${peer.port};branch=z9hG4bKsame`;
    const text = request({ via });
    await peer.send(text, leg.port, address);
    const { message } = await inbox.next();
    expect(message.getHeader('via')).toBe(via);
    expect(message.modified).toBe(false);
  });

  it('adds received when sent-by is a hostname, even on the source address', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    await peer.send(request({ via: `SIP/2.0/UDP client.invalid:${peer.port};branch=z9hG4bKh` }), leg.port, address);
    const { message } = await inbox.next();
    expect(message.getHeader('via')).toBe(`SIP/2.0/UDP client.invalid:${peer.port};branch=z9hG4bKh;received=${address}`);
  });

  it('does not touch the Via of responses', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    const via = 'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKresp;rport';
    await peer.send(response(via), leg.port, address);
    const { message } = await inbox.next();
    expect(message.isRequest).toBe(false);
    expect(message.getHeader('via')).toBe(via);
  });

  it('sends a response to received/rport of its top Via (RFC 3581 §4)', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    await peer.send(request(), leg.port, address);
    const { message } = await inbox.next();
    const stampedVia = message.getHeader('via') ?? '';
    const result = await leg.send(parseMessage(response(stampedVia)));
    expect(result).toMatchObject({ ok: true, destination: { transport: 'udp', address, port: peer.port, family } });
    const got = await peer.next();
    expect(got.text.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);
  });

  it('sends a response to received and the sent-by port when there is no rport (RFC 3261 §18.2.2)', async () => {
    const { leg, peer } = await setup(address, udpType);
    const via = `SIP/2.0/UDP 192.0.2.50:${peer.port};branch=z9hG4bKx;received=${address}`;
    const result = await leg.send(parseMessage(response(via)));
    expect(result.ok).toBe(true);
    await peer.next();
  });

  it('sends an unmodified message byte for byte to a destination', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    const text = request({ via: `SIP/2.0/UDP ${bracket(address)}:${peer.port};branch=z9hG4bKsame`, body: 'v=0\r\n' });
    await peer.send(text, leg.port, address);
    const { message } = await inbox.next();
    const result = await leg.send(message, { transport: 'udp', address, port: peer.port, family });
    expect(result.ok).toBe(true);
    expect((await peer.next()).text).toBe(text);
  });

  it('ignores datagrams shorter than 13 bytes and drops garbage with an error event, then keeps serving', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    const errors = recordChannel<LegErrorEvent>(LEG_CHANNELS.error);
    cleanup.push(errors.stop);
    await peer.send('\r\n\r\n', leg.port, address);
    await peer.send('jjjjjjjjjjjj', leg.port, address);
    await peer.send('this is not a SIP message at all\r\n\r\n', leg.port, address);
    await peer.send(Buffer.from([0xff, 0xfe, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]), leg.port, address);
    await peer.send(request(), leg.port, address);
    await inbox.next();
    expect(inbox.items).toHaveLength(1);
    const mine = errors.events.filter((e) => e.leg === leg);
    expect(mine.map((e) => e.kind)).toEqual(['parse-failed', 'parse-failed']);
    expect(peer.received).toHaveLength(0);
  });

  it('answers 400 to a request that fails parsing but names where to answer', async () => {
    const { leg, peer, inbox } = await setup(address, udpType);
    // Content-Length larger than the datagram: RFC 3261 §18.3 says 400.
    const bad = request({ body: 'short' }).replace('Content-Length: 5', 'Content-Length: 500');
    await peer.send(bad, leg.port, address);
    const got = await peer.next();
    const answer = parseMessage(got.text);
    expect(answer.isRequest).toBe(false);
    if (answer.isRequest) return;
    expect(answer.status).toBe(400);
    expect(answer.getHeader('call-id')).toBe('call-1@example.com');
    expect(answer.getHeader('warning')).toMatch(/^399 /);
    expect(answer.getHeader('via')).toContain(`received=${address}`);
    expect(inbox.items).toHaveLength(0);
  });

  it('never answers a bad ACK or a bad response', async () => {
    const { leg, peer } = await setup(address, udpType);
    const badAck = request({ method: 'ACK', body: 'x' }).replace('Content-Length: 1', 'Content-Length: 99');
    await peer.send(badAck, leg.port, address);
    await peer.send(response('SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKq').replace('Content-Length: 0', 'Content-Length: 99'), leg.port, address);
    await peer.send(request({ callId: 'after' }), leg.port, address);
    // Behaviour under test: no answer at all, so the wait is the assertion's window.
    await sleep(100);
    expect(peer.received).toHaveLength(0);
  });

  it('returns failure values instead of throwing for undeliverable sends', async () => {
    const { leg } = await setup(address, udpType);
    const msg = parseMessage(request());
    const other = family === 4 ? 6 : 4;
    expect(await leg.send(msg, { transport: 'tcp', address, port: 5060, family })).toMatchObject({
      ok: false,
      code: 'TRANSPORT_MISMATCH',
      status: 503,
    });
    expect(await leg.send(msg, { transport: 'udp', address: family === 4 ? '::1' : '127.0.0.1', port: 5060, family: other })).toMatchObject({ ok: false, code: 'TRANSPORT_MISMATCH' });
    expect(await leg.send(msg)).toMatchObject({ ok: false, code: 'NO_DESTINATION' });
    expect(await leg.send(parseMessage(response('SIP/2.0/UDP host.invalid;branch=z9hG4bKq')))).toMatchObject({ ok: false, code: 'UNRESOLVED_HOST', status: 503 });
    expect(leg.canDeliverTo({ transport: 'udp', family })).toBe(true);
    expect(leg.canDeliverTo({ transport: 'tcp', family })).toBe(false);
    expect(leg.canDeliverTo({ transport: 'udp', family: other })).toBe(false);
  });

  it('refuses an oversized message with 513', async () => {
    const { leg, peer } = await setup(address, udpType);
    const msg = parseMessage(request({ body: 'x'.repeat(70_000) }), { maxMessageSize: 200_000 });
    expect(await leg.send(msg, { transport: 'udp', address, port: peer.port, family })).toMatchObject({ ok: false, status: 513, code: 'MESSAGE_TOO_LARGE' });
  });
});

describe('UDP leg lifecycle', () => {
  it('close is graceful and idempotent; use after close is a typed error', async () => {
    const leg = new UdpLeg({ port: 0 });
    await leg.start();
    const a = leg.close();
    const b = leg.close();
    expect(a).toBe(b);
    await a;
    expect(leg.state).toBe('closed');
    const msg = parseMessage(request());
    await expect(leg.send(msg, { transport: 'udp', address: '127.0.0.1', port: 9, family: 4 })).rejects.toBeInstanceOf(LegClosedError);
    await expect(leg.start()).rejects.toSatisfy((e: unknown) => SipLegError.isInstance(e) && e.code === 'LEG_CLOSED');
    leg.destroy();
  });

  it('send before start is a typed error', async () => {
    const leg = new UdpLeg({ port: 0 });
    await expect(leg.send(parseMessage(request()), { transport: 'udp', address: '127.0.0.1', port: 9, family: 4 })).rejects.toMatchObject({ code: 'LEG_NOT_STARTED' });
    await leg.close();
  });

  it('destroy stops receiving at once and is idempotent', async () => {
    const inbox = new Inbox();
    const leg = new UdpLeg({ port: 0, onReceive: inbox.handler });
    await leg.start();
    leg.destroy(new Error('test'));
    leg.destroy();
    expect(leg.state).toBe('closed');
    await leg.close();
  });

  it('a port in use fails start with LegStartError', async () => {
    const a = new UdpLeg({ port: 0 });
    await a.start();
    const b = new UdpLeg({ port: a.port });
    await expect(b.start()).rejects.toMatchObject({ code: 'LEG_START_FAILED' });
    await a.close();
  });

  it('rejects bad options at construction', () => {
    expect(() => new UdpLeg({ address: 'example.com' })).toThrow(/IP literal/);
    expect(() => new UdpLeg({ address: '0.0.0.0' })).toThrow(/host option/);
    expect(() => new UdpLeg({ port: 70000 })).toThrow(/invalid port/);
    expect(new UdpLeg({ address: '0.0.0.0', host: 'proxy.example.com', port: 5062 }).contact).toBe('sip:proxy.example.com:5062');
  });

  it('branch bases differ per leg', async () => {
    const a = new UdpLeg({ port: 0 });
    const b = new UdpLeg({ port: 0 });
    await a.start();
    await b.start();
    expect(a.branchBase).not.toBe(b.branchBase);
    await a.close();
    await b.close();
  });

  it('a receive callback that throws does not stop the leg', async () => {
    let calls = 0;
    const leg = new UdpLeg({
      port: 0,
      onReceive: () => {
        calls++;
        throw new Error('boom');
      },
    });
    await leg.start();
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    await peer.send(request(), leg.port, '127.0.0.1');
    await peer.send(request({ callId: 'two' }), leg.port, '127.0.0.1');
    await until(() => calls === 2);
    peer.close();
    await leg.close();
  });
});

describe('UDP leg diagnostics', () => {
  it('publishes receive and send events on diagnostics_channel', async () => {
    const { recordChannel: record } = await import('./helpers.js');
    const receives = record<{ leg: unknown; message: { callId?: string }; source: unknown }>(LEG_CHANNELS.receive);
    const sends = record<{ leg: unknown; destination: unknown; bytes: Uint8Array }>(LEG_CHANNELS.send);
    cleanup.push(receives.stop, sends.stop);
    const { leg, peer, inbox } = await setup('127.0.0.1', 'udp4');
    await peer.send(request({ callId: 'diag' }), leg.port, '127.0.0.1');
    const { message } = await inbox.next();
    const destination = { transport: 'udp' as const, address: '127.0.0.1', port: peer.port, family: 4 as const };
    await leg.send(message, destination);
    const mineIn = receives.events.filter((e) => e.leg === leg);
    expect(mineIn).toHaveLength(1);
    expect(mineIn[0]?.message.callId).toBe('diag');
    expect(mineIn[0]?.source).toMatchObject({ address: '127.0.0.1', port: peer.port });
    const mineOut = sends.events.filter((e) => e.leg === leg);
    expect(mineOut).toHaveLength(1);
    expect(mineOut[0]?.destination).toEqual(destination);
    expect(Buffer.from(mineOut[0]?.bytes ?? []).toString('latin1')).toBe((await peer.next()).text);
  });
});

describe('UDP leg logging', () => {
  /** A leg with `logger` that has just been sent one datagram that is not SIP. */
  async function dropGarbage(logger: LegLogger): Promise<UdpLeg> {
    const leg = new UdpLeg({ address: '127.0.0.1', port: 0, logger });
    await leg.start();
    cleanup.push(() => leg.close());
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    cleanup.push(() => peer.close());
    await peer.send('definitely not SIP at all\r\n\r\n', leg.port, '127.0.0.1');
    return leg;
  }

  it('logs a dropped datagram through the logger', async () => {
    const lines: string[] = [];
    await dropGarbage({ warn: (_f, msg) => lines.push(msg) });
    await until(() => lines.length === 1);
    expect(lines[0]).toMatch(/dropped/);
  });

  it('a pino logger passed straight in gets the fields of the line, not only the message', async () => {
    const { logger, lines } = pinoCapture();
    const leg = await dropGarbage(logger);
    await until(() => lines.some((l) => l.msg === 'dropped unparseable messages'), 5000, 'the dropped line');
    expect(lines.find((l) => l.msg === 'dropped unparseable messages')).toMatchObject({ level: 30, leg: `udp leg 127.0.0.1:${leg.port}`, count: 1 });
  });
});
