import { createSocket, type Socket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { pinoCapture } from '@sipway/test-peers';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Dispatcher, type ReceiveInfo } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { createResponse, isRequest, parseMessage, type SipMessage, type SipResponse } from '@sipway/sip-message';
import { ReceiveChain } from '@sipway/receive-chain';
import { AddressList, RateLimiter, type BlockedEvent, type RateLimiterOptions } from '../src/index.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A UDP leg whose chain is [RateLimiter, a handler that answers 200 to requests and records what it saw]. */
async function server(address: string, options: Partial<RateLimiterOptions> = {}) {
  const leg = new UdpLeg({ address, port: 0 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  const lines: string[] = [];
  const limiter = new RateLimiter({ dispatcher, securityLog: (line) => lines.push(line), ...options });
  const seen: SipMessage[] = [];
  const handler = async (m: SipMessage, info: ReceiveInfo) => {
    seen.push(m);
    if (!isRequest(m) || m.method === 'ACK') return true;
    await dispatcher.deliver(createResponse(m, 200, 'OK', { toTag: 'h' }), { incoming: info });
    return true;
  };
  dispatcher.setReceiver(new ReceiveChain([limiter, handler]));
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  return { port: leg.port, lines, seen };
}

let n = 0;
/** A real UDP peer: `request()` sends one datagram and resolves to the answer, or undefined after `waitMs`. */
async function peer(address: string) {
  const socket: Socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const port = socket.address().port;
  const answers = new Map<string, SipResponse>();
  socket.on('message', (data) => {
    const m = parseMessage(data);
    if (!m.isRequest) answers.set(m.topVia?.branch ?? '', m);
  });
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    port,
    send(text: string, to: number): void {
      socket.send(text, to, address);
    },
    async request(method: string, to: number, waitMs = 1500): Promise<SipResponse | undefined> {
      const branch = `z9hG4bK-rl-${++n}`;
      const cseqMethod = method;
      const text = [
        `${method} sip:bob@example.com SIP/2.0`,
        `Via: SIP/2.0/UDP ${host}:${port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:alice@example.com>;tag=rl${n}`,
        'To: <sip:bob@example.com>',
        `Call-ID: rl-${n}@test`,
        `CSeq: 1 ${cseqMethod}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(text, to, address);
      const deadline = Date.now() + waitMs;
      while (!answers.has(branch) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 3));
      return answers.get(branch);
    },
  };
}

describe('RateLimiter over real UDP datagrams', () => {
  it('answers 503 with Retry-After once a source has used its points, and logs one line per source per window', async () => {
    const s = await server('127.0.0.1', { points: 3, duration: 60 });
    const p = await peer('127.0.0.1');
    const statuses: Array<number | undefined> = [];
    let last: SipResponse | undefined;
    for (let i = 0; i < 5; i++) {
      last = await p.request('OPTIONS', s.port);
      statuses.push(last?.status);
    }
    expect(statuses).toEqual([200, 200, 200, 503, 503]);
    const retryAfter = Number(last?.getHeader('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(last?.reason).toBe('Service Unavailable');
    expect(s.seen).toHaveLength(3);
    // Two blocks, one line: the sender must not choose how many lines we write.
    expect(s.lines).toEqual([`sipway blocked source=127.0.0.1 port=${p.port} reason=rate-limit method=OPTIONS`]);
  });

  it('publishes each block on sipway:auth:blocked', async () => {
    const events: BlockedEvent[] = [];
    const sub = (e: unknown) => events.push(e as BlockedEvent);
    subscribe('sipway:auth:blocked', sub);
    cleanup.push(() => unsubscribe('sipway:auth:blocked', sub));
    const s = await server('127.0.0.1', { points: 1, duration: 60 });
    const p = await peer('127.0.0.1');
    await p.request('REGISTER', s.port);
    expect((await p.request('REGISTER', s.port))?.status).toBe(503);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'blocked', source: '127.0.0.1', port: p.port, transport: 'udp', reason: 'rate-limit', method: 'REGISTER', action: 503 });
    expect(events[0]?.line).toBe(s.lines[0]);
  });

  it('never limits allow-listed sources (CIDR)', async () => {
    const s = await server('127.0.0.1', { points: 1, duration: 60, allow: ['10.0.0.0/8', '127.0.0.0/8'] });
    const p = await peer('127.0.0.1');
    for (let i = 0; i < 4; i++) expect((await p.request('INVITE', s.port))?.status).toBe(200);
    expect(s.lines).toEqual([]);
  });

  it('never answers an ACK over the limit, and does not pass it on', async () => {
    const s = await server('127.0.0.1', { points: 1, duration: 60 });
    const p = await peer('127.0.0.1');
    expect((await p.request('OPTIONS', s.port))?.status).toBe(200);
    expect(await p.request('ACK', s.port, 300)).toBeUndefined();
    expect((await p.request('OPTIONS', s.port))?.status).toBe(503);
    expect(s.seen.map((m) => (isRequest(m) ? m.method : 'response'))).toEqual(['OPTIONS']);
  });

  it('drops silently above the second threshold and logs the flood once per window', async () => {
    const s = await server('127.0.0.1', { points: 2, duration: 60, dropAbove: 4 });
    const p = await peer('127.0.0.1');
    const statuses: Array<number | undefined> = [];
    for (let i = 0; i < 7; i++) statuses.push((await p.request('REGISTER', s.port, i >= 4 ? 300 : 1500))?.status);
    expect(statuses).toEqual([200, 200, 503, 503, undefined, undefined, undefined]);
    expect(s.lines).toEqual([
      `sipway blocked source=127.0.0.1 port=${p.port} reason=rate-limit method=REGISTER`,
      `sipway blocked source=127.0.0.1 port=${p.port} reason=flood method=REGISTER`,
    ]);
  });

  it('counts only the configured methods', async () => {
    const s = await server('127.0.0.1', { points: 1, duration: 60, methods: ['REGISTER'] });
    const p = await peer('127.0.0.1');
    for (let i = 0; i < 3; i++) expect((await p.request('OPTIONS', s.port))?.status).toBe(200);
    expect((await p.request('REGISTER', s.port))?.status).toBe(200);
    expect((await p.request('REGISTER', s.port))?.status).toBe(503);
  });

  it('passes responses through uncounted', async () => {
    const s = await server('127.0.0.1', { points: 1, duration: 60 });
    const p = await peer('127.0.0.1');
    for (let i = 0; i < 3; i++) {
      p.send(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:${s.port};branch=z9hG4bK-resp-${i}\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: resp-${i}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`, s.port);
    }
    const deadline = Date.now() + 2000;
    while (s.seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 3));
    expect(s.seen).toHaveLength(3);
    expect((await p.request('OPTIONS', s.port))?.status).toBe(200);
  });

  it('shares counts through a limiter passed in (any rate-limiter-flexible store): two legs, one budget', async () => {
    const shared = new RateLimiterMemory({ points: 2, duration: 60, keyPrefix: 'shared-test' });
    const a = await server('127.0.0.1', { limiter: shared });
    const b = await server('127.0.0.1', { limiter: shared });
    const p = await peer('127.0.0.1');
    expect((await p.request('OPTIONS', a.port))?.status).toBe(200);
    expect((await p.request('OPTIONS', b.port))?.status).toBe(200);
    expect((await p.request('OPTIONS', a.port))?.status).toBe(503);
    expect((await p.request('OPTIONS', b.port))?.status).toBe(503);
  });

  it('lets requests through when the limiter store fails, and warns', async () => {
    const warnings: string[] = [];
    const broken = { consume: () => Promise.reject(new Error('store down')) };
    const s = await server('127.0.0.1', { limiter: broken as never, logger: { warn: (_f, m) => warnings.push(m) } });
    const p = await peer('127.0.0.1');
    expect((await p.request('OPTIONS', s.port))?.status).toBe(200);
    expect(warnings).toHaveLength(1);
  });

  it('writes the store failure with its fields to a pino logger passed straight in', async () => {
    const { logger, lines } = pinoCapture();
    const broken = { consume: () => Promise.reject(new Error('store down')) };
    const s = await server('127.0.0.1', { limiter: broken as never, logger });
    const p = await peer('127.0.0.1');
    expect((await p.request('OPTIONS', s.port))?.status).toBe(200);
    const line = lines.find((l) => l.msg === 'RateLimiter: limiter store failed; request let through');
    expect(line).toMatchObject({ level: 40, source: '127.0.0.1' });
  });

  it('limits and logs IPv6 sources on ::1 (no brackets in the line)', async () => {
    const s = await server('::1', { points: 1, duration: 60 });
    const p = await peer('::1');
    expect((await p.request('OPTIONS', s.port))?.status).toBe(200);
    expect((await p.request('OPTIONS', s.port))?.status).toBe(503);
    expect(s.lines).toEqual([`sipway blocked source=::1 port=${p.port} reason=rate-limit method=OPTIONS`]);
  });
});

describe('fail2ban filter regex from the README', () => {
  // The failregex of the README, with fail2ban's <HOST> replaced by what fail2ban puts there.
  const failregex = /sipway (?:blocked|auth-failed) source=(?<host>[0-9a-fA-F.:]+) port=\d+ reason=\S+ method=\S+/;
  it('finds the host in every line format, IPv4 and IPv6, whatever the user name', () => {
    const lines = [
      'sipway blocked source=192.0.2.7 port=5060 reason=rate-limit method=REGISTER',
      'sipway blocked source=2001:db8::7 port=5060 reason=flood method=INVITE',
      'sipway auth-failed source=192.0.2.8 port=5062 reason=bad-password method=REGISTER user="x source=10.9.9.9 port=1"',
    ];
    expect(lines.map((l) => failregex.exec(l)?.groups?.['host'])).toEqual(['192.0.2.7', '2001:db8::7', '192.0.2.8']);
  });
});

describe('AddressList', () => {
  it('matches exact addresses and CIDR ranges, IPv4, IPv6 and IPv4-mapped', () => {
    const list = new AddressList(['192.0.2.7', '10.0.0.0/8', '2001:db8::/32', '[::1]']);
    expect(list.has('192.0.2.7')).toBe(true);
    expect(list.has('192.0.2.8')).toBe(false);
    expect(list.has('10.200.3.4')).toBe(true);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('2001:db8:1::5')).toBe(true);
    expect(list.has('2001:db9::5')).toBe(false);
    expect(list.has('::1')).toBe(true);
    expect(list.has('::ffff:10.1.2.3')).toBe(true);
    expect(list.has('not-an-ip')).toBe(false);
  });

  it('refuses entries that are not addresses or ranges', () => {
    for (const bad of ['example.com', '10.0.0.0/33', '10.0.0.0/x', '2001:db8::/129', '']) {
      expect(() => new AddressList([bad]), bad).toThrow(/allow-list entry/);
    }
  });
});

describe('RateLimiter options', () => {
  it('refuses unknown keys and bad numbers with AUTH_INVALID_OPTIONS', () => {
    const dispatcher = new Dispatcher();
    for (const o of [{ dispatcher, point: 3 }, { dispatcher, points: 0 }, { dispatcher, duration: -1 }, { dispatcher, dropAbove: 0 }, { dispatcher, allow: ['x'] }, {}]) {
      expect(() => new RateLimiter(o as never)).toThrow(expect.objectContaining({ code: 'AUTH_INVALID_OPTIONS' }));
    }
  });
});
