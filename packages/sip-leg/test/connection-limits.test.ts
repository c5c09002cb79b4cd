import { connect as netConnect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import WebSocket from 'ws';
import { parseMessage } from '@sipway/sip-message';
import { LEG_CHANNELS } from '../src/index.js';
import type { LegErrorEvent, LegLogger } from '../src/index.js';
import { LogSampler } from '../src/log-sampler.js';
import { sourceKey } from '../src/stream/connection-limiter.js';
import { TcpLeg } from '../src/tcp/index.js';
import type { TcpLegOptions } from '../src/tcp/index.js';
import { TlsLeg } from '../src/tls/index.js';
import { UdpLeg } from '../src/udp/index.js';
import { WsLeg } from '../src/ws/index.js';
import type { WsLegOptions } from '../src/ws/index.js';
import { makeCert } from './certs.js';
import { FAMILIES, Inbox, StreamPeer, UdpPeer, recordChannel, request, sleep } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A logger that keeps every line. */
function recordingLogger(): LegLogger & { lines: Array<{ level: string; message: string; data: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; data: Record<string, unknown> }> = [];
  const at = (level: string) => (data: Record<string, unknown>, message: string) => void lines.push({ level, message, data });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function tcpLeg(address: string, options: TcpLegOptions = {}) {
  const inbox = new Inbox();
  const leg = new TcpLeg({ address, port: 0, onReceive: inbox.handler, ...options });
  await leg.start();
  cleanup.push(() => leg.close());
  return { leg, inbox };
}

/** A TCP client, optionally from a given local address (127.0.0.2 is another source on loopback). */
async function peer(address: string, port: number, localAddress?: string): Promise<StreamPeer> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: address, port, ...(localAddress === undefined ? {} : { localAddress }) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  const p = new StreamPeer(socket);
  cleanup.push(() => p.destroy());
  return p;
}

describe('per-source keys', () => {
  it('groups IPv6 by prefix and keeps IPv4 addresses apart', () => {
    expect(sourceKey('192.0.2.7', 64)).toBe('192.0.2.7');
    expect(sourceKey('::ffff:192.0.2.7', 64)).toBe('192.0.2.7');
    expect(sourceKey('2001:db8:1:2::1', 64)).toBe(sourceKey('2001:db8:1:2:ffff:eeee:dddd:cccc', 64));
    expect(sourceKey('2001:db8:1:2::1', 64)).not.toBe(sourceKey('2001:db8:1:3::1', 64));
    expect(sourceKey('2001:db8:1:2::1', 48)).toBe(sourceKey('2001:db8:1:3::1', 48));
    expect(sourceKey('2001:db8::1', 128)).not.toBe(sourceKey('2001:db8::2', 128));
    expect(sourceKey('[::1]', 64)).toBe('0:0:0:0:0:0:0:0/64');
  });
});

describe('LogSampler', () => {
  it('writes the first event at once, then one line per interval with the count', async () => {
    const lines: Array<[string, number, boolean]> = [];
    const sampler = new LogSampler((key, count, _s, first) => void lines.push([key, count, first]), 100);
    for (let i = 0; i < 1000; i++) sampler.hit('a', { i });
    sampler.hit('b', {});
    expect(lines).toEqual([
      ['a', 1, true],
      ['b', 1, true],
    ]);
    await until(() => lines.length >= 3, 2000, 'summary line');
    expect(lines[2]).toEqual(['a', 999, false]);
    // A quiet interval later, the next event is written at once again.
    await sleep(350);
    sampler.hit('a', {});
    expect(lines.at(-1)).toEqual(['a', 1, true]);
    sampler.flush();
  });
});

describe('LogSampler under many sources', () => {
  it('writes at most 32 first lines per interval; the rest share one overflow line with their count', async () => {
    const lines: Array<[string, number]> = [];
    const sampler = new LogSampler((key, count) => void lines.push([key, count]), 100);
    for (let i = 0; i < 10_000; i++) sampler.hit(`10.0.${i >> 8}.${i & 255}`, {});
    expect(lines).toHaveLength(33);
    expect(lines.at(-1)).toEqual(['*', 1]);
    await until(() => lines.some(([k, c]) => k === '*' && c > 1), 2000, 'the overflow count');
    expect(lines.find(([k, c]) => k === '*' && c > 1)![1]).toBe(10_000 - 33);
    sampler.flush();
  });
});

describe.each(FAMILIES)('stream connection limits over $name', ({ address }) => {
  it('refuses connections from one source over maxConnectionsPerSource', async () => {
    const { leg, inbox } = await tcpLeg(address, { maxConnectionsPerSource: 3 });
    const refused = recordChannel<LegErrorEvent>(LEG_CHANNELS.error);
    cleanup.push(refused.stop);
    const held = await Promise.all([1, 2, 3].map(() => peer(address, leg.port)));
    await until(() => leg.slotsInUse === 3, 3000, 'three counted');
    const extra = await peer(address, leg.port);
    await extra.waitClosed();
    expect(refused.events.some((e) => e.kind === 'too-many-connections' && e.leg === leg)).toBe(true);
    // The held ones still work.
    held[0]!.write(request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKheld' }));
    await inbox.next();
    expect(held.every((p) => !p.closed)).toBe(true);
    // One leaves: the source may connect again.
    held[1]!.destroy();
    await until(() => leg.slotsInUse === 2, 3000, 'slot released');
    const again = await peer(address, leg.port);
    again.write(request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKagain', callId: 'again' }));
    expect((await inbox.next(2)).message.callId).toBe('again');
  });

  it('at maxConnections closes the longest-idle connection for a new one, and refuses when none is idle', async () => {
    const { leg, inbox } = await tcpLeg(address, { maxConnections: 2, evictIdleMs: 300 });
    const oldest = await peer(address, leg.port);
    await sleep(20); // so the first is measurably the longest idle
    const second = await peer(address, leg.port);
    await until(() => leg.slotsInUse === 2, 3000, 'two counted');
    // Nothing idle long enough yet: refused.
    const early = await peer(address, leg.port);
    await early.waitClosed();
    expect(oldest.closed || second.closed).toBe(false);
    await sleep(400); // waits out evictIdleMs (300): the behaviour under test
    second.write(request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKbusy', callId: 'busy' }));
    await inbox.next();
    const late = await peer(address, leg.port);
    await oldest.waitClosed();
    expect(second.closed).toBe(false);
    late.write(request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKlate', callId: 'late' }));
    expect((await inbox.next(2)).message.callId).toBe('late');
  });

  it('closes a connection whose message is not complete at the deadline, however the bytes drip in', async () => {
    const { leg, inbox } = await tcpLeg(address, { messageTimeoutMs: 600, idleTimeoutMs: 60_000 });
    const events = recordChannel<LegErrorEvent>(LEG_CHANNELS.error);
    cleanup.push(events.stop);
    const p = await peer(address, leg.port);
    // A whole message right away is fine, and so is a message split over reads within the deadline.
    const whole = request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKw', callId: 'whole' });
    p.write(whole.slice(0, 30));
    await sleep(100); // a split within the 300 ms deadline: the behaviour under test
    p.write(whole.slice(30));
    await inbox.next();
    // Then a header dripped a byte every 100 ms: each byte would reset an idle timer, not this deadline.
    const started = Date.now();
    const drip = 'INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP c.invalid;branch=z9hG4bKdrip\r\n';
    let i = 0;
    const timer = setInterval(() => {
      if (!p.closed) p.socket.write(drip[i++ % drip.length]!);
    }, 100);
    cleanup.push(() => clearInterval(timer));
    await p.waitClosed(5000);
    clearInterval(timer);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3000);
    expect(events.events.some((e) => e.kind === 'message-timeout' && e.leg === leg)).toBe(true);
    expect(inbox.items).toHaveLength(1);
  });
});

describe('keep-alives and the message deadline', () => {
  it('lone CRLF keep-alives (held by the framer until the next bytes) start no deadline', async () => {
    const { leg, inbox } = await tcpLeg('127.0.0.1', { messageTimeoutMs: 300, idleTimeoutMs: 60_000 });
    const p = await peer('127.0.0.1', leg.port);
    // Keep-alive bytes spread past the 300 ms message deadline: the timing is what is tested.
    p.write('\r\n');
    await sleep(250);
    p.socket.write('\r');
    await sleep(100);
    p.socket.write('\n');
    await sleep(700);
    expect(p.closed).toBe(false);
    p.write(request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKka', callId: 'after-keepalive' }));
    expect((await inbox.next()).message.callId).toBe('after-keepalive');
    // A CRLF followed by the start of a message does start the clock.
    p.write('\r\nINVITE sip:x SIP/2.0\r\n');
    await p.waitClosed(5000);
  });
});

describe('per-source limits across source addresses', () => {
  it('a second address still connects when the first is at its limit (127.0.0.2 via localAddress)', async () => {
    const { leg, inbox } = await tcpLeg('127.0.0.1', { maxConnectionsPerSource: 2 });
    await peer('127.0.0.1', leg.port);
    await peer('127.0.0.1', leg.port);
    const refused = await peer('127.0.0.1', leg.port);
    await refused.waitClosed();
    const other = await peer('127.0.0.1', leg.port, '127.0.0.2');
    other.write(request({ via: 'SIP/2.0/TCP c.invalid;branch=z9hG4bKo', callId: 'other' }));
    const got = await inbox.next();
    expect(got.info.source.address).toBe('127.0.0.2');
  });
});

describe('TLS handshake deadline and counting', () => {
  it('counts a socket during its handshake and closes it at the deadline, bytes or not', async () => {
    const cert = await makeCert();
    cleanup.push(() => rmSync(cert.dir, { recursive: true, force: true }));
    const leg = new TlsLeg({ address: '127.0.0.1', port: 0, certFile: cert.certFile, keyFile: cert.keyFile, handshakeTimeoutMs: 500, maxConnectionsPerSource: 1 });
    await leg.start();
    cleanup.push(() => leg.close());
    const p = await peer('127.0.0.1', leg.port);
    await until(() => leg.slotsInUse === 1, 3000, 'handshaking socket counted');
    expect(leg.connections).toHaveLength(0);
    // A second socket from the same source is refused while the first one handshakes.
    const second = await peer('127.0.0.1', leg.port);
    await second.waitClosed();
    const started = Date.now();
    // A TLS record header dripped a byte at a time.
    const bytes = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
    let i = 0;
    const timer = setInterval(() => {
      if (!p.closed && i < bytes.length) p.socket.write(Buffer.from([bytes[i++]!]));
    }, 80);
    cleanup.push(() => clearInterval(timer));
    await p.waitClosed(5000);
    expect(Date.now() - started).toBeLessThan(3000);
    await until(() => leg.slotsInUse === 0, 3000, 'slot released');
  });
});

describe('WebSocket sockets before the upgrade', () => {
  async function wsLeg(options: WsLegOptions) {
    const inbox = new Inbox();
    const leg = new WsLeg({ address: '127.0.0.1', port: 0, onReceive: inbox.handler, ...options });
    await leg.start();
    cleanup.push(() => leg.close());
    return { leg, inbox };
  }
  function wsClient(port: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'sip');
      cleanup.push(() => ws.terminate());
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  it('counts them per source and closes them at the upgrade deadline', async () => {
    const { leg, inbox } = await wsLeg({ maxConnectionsPerSource: 2, handshakeTimeoutMs: 600 });
    const idle = [await peer('127.0.0.1', leg.port), await peer('127.0.0.1', leg.port)];
    await until(() => leg.slotsInUse === 2, 3000, 'pre-upgrade sockets counted');
    await expect(wsClient(leg.port)).rejects.toThrow(/503|hang up|ECONNRESET/);
    // An HTTP request line dripped slowly does not extend the deadline.
    idle[0]!.write('GET / HTTP/1.1\r\n');
    await Promise.all(idle.map((p) => p.waitClosed(5000)));
    await until(() => leg.slotsInUse === 0, 3000, 'slots released');
    const ws = await wsClient(leg.port);
    ws.send(request({ via: 'SIP/2.0/WS c.invalid;branch=z9hG4bKws', callId: 'ws-after' }));
    expect((await inbox.next()).message.callId).toBe('ws-after');
    // Upgraded: the deadline no longer applies (waiting past it is the behaviour under test).
    await sleep(800);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('fixed reason phrases', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('a TLS connect to a plain TCP server fails with a plain 503 phrase; the OpenSSL text is in detail and the log', async () => {
    const cert = await makeCert();
    cleanup.push(() => rmSync(cert.dir, { recursive: true, force: true }));
    server = createServer((s) => s.end('this is not TLS\r\n\r\n'));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const logger = recordingLogger();
    const leg = new TlsLeg({ address: '127.0.0.1', port: 0, certFile: cert.certFile, keyFile: cert.keyFile, logger });
    await leg.start();
    cleanup.push(() => leg.close());
    const result = await leg.send(parseMessage(request({ via: leg.via() })), { transport: 'tls', address: '127.0.0.1', port, family: 4 });
    expect(result).toMatchObject({ ok: false, status: 503, code: 'CONNECT_FAILED', reason: 'Service Unavailable' });
    expect(!result.ok && result.detail).toMatch(/connect to 127\.0\.0\.1:\d+ failed: .+/);
    const line = logger.lines.find((l) => l.message === 'outgoing connection failed' && l.level !== 'debug');
    expect(line?.level).toBe('warn');
    expect(String(line?.data.detail)).toContain(`127.0.0.1:${port}`);
  });

  it('an untrusted certificate: plain phrase, the verification error in detail', async () => {
    const served = await makeCert('served');
    const own = await makeCert('own');
    cleanup.push(() => rmSync(served.dir, { recursive: true, force: true }));
    cleanup.push(() => rmSync(own.dir, { recursive: true, force: true }));
    const far = new TlsLeg({ address: '127.0.0.1', port: 0, certFile: served.certFile, keyFile: served.keyFile });
    await far.start();
    cleanup.push(() => far.close());
    const leg = new TlsLeg({ address: '127.0.0.1', port: 0, certFile: own.certFile, keyFile: own.keyFile, caFile: own.certFile });
    await leg.start();
    cleanup.push(() => leg.close());
    const result = await leg.send(parseMessage(request({ via: leg.via() })), { transport: 'tls', address: '127.0.0.1', port: far.port, family: 4 });
    expect(result).toMatchObject({ ok: false, status: 503, reason: 'Service Unavailable' });
    expect(!result.ok && result.detail).toMatch(/certificate|self.signed|verify/i);
  });
});

describe('sampled logs for malformed input', () => {
  it('thousands of bad datagrams from one source give one line at once and one with the count', async () => {
    const logger = recordingLogger();
    const leg = new UdpLeg({ address: '127.0.0.1', port: 0, logger, answerBadRequests: false });
    await leg.start();
    const sender = new UdpPeer('udp4');
    await sender.bind('127.0.0.1');
    cleanup.push(() => sender.close());
    const events = recordChannel<LegErrorEvent>(LEG_CHANNELS.error);
    cleanup.push(events.stop);
    const parsed = () => events.events.filter((e) => e.kind === 'parse-failed' && e.leg === leg).length;
    // Paced so the kernel buffer keeps most of them (sender and leg share this event loop).
    for (let i = 0; i < 100; i++) {
      await Promise.all(Array.from({ length: 50 }, () => sender.send('this is no SIP message at all', leg.port, '127.0.0.1')));
      await sleep(1);
    }
    // Until nothing more arrives for 200 ms (bounded by the test timeout).
    for (let before = -1; before !== parsed(); ) {
      before = parsed();
      await sleep(200);
    }
    const seen = parsed();
    expect(seen).toBeGreaterThan(1000);
    const loud = () => logger.lines.filter((l) => l.level !== 'debug');
    expect(loud()).toHaveLength(1);
    expect(loud()[0]).toMatchObject({ level: 'info', message: 'dropped unparseable messages' });
    await leg.close(); // writes the pending count
    expect(loud()).toHaveLength(2);
    expect(loud()[1]!.data.count).toBe(seen - 1);
    expect(loud()[1]!.message).toMatch(/^dropped unparseable messages \(\d+ more in the last 10 s or less\)$/);
  });
});
