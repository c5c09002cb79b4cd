import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRtpengine, until, type RtpengineDaemon } from '@sipway/test-peers';
import { MediaRelayError, RtpengineClient, RtpengineError, RtpengineMediaRelay, bencodeDecode, bencodeEncode } from '../src/index.js';

// The ng control client against a real rtpengine (ping, errors, IPv6 control address, a hung
// daemon) and against a UDP socket of the test where exact control of the replies is needed
// (lost datagrams, stray and malformed replies).

let daemon: RtpengineDaemon;
beforeAll(async () => {
  daemon = await startRtpengine();
});
afterAll(async () => {
  await daemon?.stop();
});

/** A UDP socket answering like rtpengine, but as the test says: `reply(cookie, request, n)` per datagram. */
async function fakeNg(
  reply: (cookie: string, request: Record<string, unknown>, n: number) => Buffer | string | undefined,
): Promise<{ port: number; seen: string[]; socket: Socket; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  const seen: string[] = [];
  socket.on('message', (data, rinfo) => {
    const space = data.indexOf(0x20);
    const cookie = data.toString('latin1', 0, space);
    seen.push(cookie);
    const answer = reply(cookie, bencodeDecode(data, space + 1) as Record<string, unknown>, seen.length);
    if (answer !== undefined) socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    seen,
    socket,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

const framed = (cookie: string, dict: Record<string, string>): Buffer => Buffer.concat([Buffer.from(`${cookie} `), bencodeEncode(dict)]);

async function rejection(p: Promise<unknown>): Promise<RtpengineError> {
  try {
    await p;
  } catch (error) {
    expect(RtpengineError.isInstance(error)).toBe(true);
    return error as RtpengineError;
  }
  throw new Error('expected a rejection');
}

describe('ping against a real rtpengine', () => {
  it('answers pong over IPv4', async () => {
    const client = await RtpengineClient.connect({ host: daemon.host, port: daemon.port });
    await client.ping();
    expect(client.stats).toMatchObject({ requests: 1, retransmissions: 0, timeouts: 0, pending: 0 });
    await client.close();
  });

  it('answers pong over an IPv6 control address (with or without brackets)', async () => {
    const six = await startRtpengine({ listen: '::1', interfaces: ['::1'] });
    try {
      for (const host of ['::1', '[::1]']) {
        const client = await RtpengineClient.connect({ host, port: six.port });
        expect(client.target).toBe(`[::1]:${six.port}`);
        await client.ping();
        await client.close();
      }
    } finally {
      await six.stop();
    }
  });

  it('overlapping requests each get their own reply (matched by cookie)', async () => {
    const client = await RtpengineClient.connect({ host: daemon.host, port: daemon.port });
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request({ command: 'query', 'call-id': `none-${i}` }).catch((e) => e)));
    // Every query of an unknown call is refused, each with its own reply.
    expect(replies.every((r) => RtpengineError.isInstance(r) && r.rtpengineCode === 'RTPENGINE_ERROR')).toBe(true);
    expect(client.stats).toMatchObject({ requests: 50, pending: 0, timeouts: 0 });
    await client.close();
  });
});

describe('start-up fails with a clear error in bounded time', () => {
  it('nothing listens on the port: RTPENGINE_UNREACHABLE at once (ICMP port unreachable)', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await rejection(RtpengineMediaRelay.start({ host: '127.0.0.1', port, timeoutMs: 2000 }));
    expect(error.rtpengineCode).toBe('RTPENGINE_UNREACHABLE');
    // A MediaRelayError of the package, with the package's code, as the proxy expects.
    expect(MediaRelayError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(MediaRelayError);
    expect(error.code).toBe('MEDIA_UNREACHABLE');
    expect(error.status).toBe(503);
    expect(error.message).toContain(`rtpengine at 127.0.0.1:${port}`);
    expect(error.message).toContain('--listen-ng');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('a hung rtpengine (SIGSTOP): RTPENGINE_TIMEOUT after timeoutMs x tries', async () => {
    const hung = await startRtpengine();
    await hung.pause();
    try {
      const started = Date.now();
      const error = await rejection(RtpengineMediaRelay.start({ host: hung.host, port: hung.port, timeoutMs: 200, retries: 2 }));
      const took = Date.now() - started;
      expect(error.rtpengineCode).toBe('RTPENGINE_TIMEOUT');
      expect(error.message).toBe(
        `rtpengine at 127.0.0.1:${hung.port} did not answer ping within 600 ms (3 tries): is rtpengine running with --listen-ng=127.0.0.1:${hung.port}?`,
      );
      expect(took).toBeGreaterThanOrEqual(590);
      expect(took).toBeLessThan(5000);
    } finally {
      await hung.stop();
    }
  });

  it('unknown or out-of-range options are start-up errors without a status', async () => {
    const bad = [
      { host: '', port: 1 },
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 70000 },
      { host: '127.0.0.1', port: 1, timeoutMs: 1 },
      { host: '127.0.0.1', port: 1, retries: -1 },
      { host: '127.0.0.1', port: 1, maxPending: 0 },
      { host: '127.0.0.1', port: 1, localAddress: 'eth0' },
      { host: '127.0.0.1', port: 1, dtls: 'sometimes' },
      { host: '127.0.0.1', port: 1, deleteDelay: -1 },
      { host: '127.0.0.1', port: 1, interfaces: { inside: '' } },
      { host: '127.0.0.1', port: 1, flags: [''] },
      { host: '127.0.0.1', port: 1, plainProtocol: 'UDP' },
      { host: '127.0.0.1', port: 1, timeout: 5 },
    ];
    for (const options of bad) {
      const error = await rejection(RtpengineMediaRelay.start(options as never));
      expect(error.rtpengineCode, JSON.stringify(options)).toBe('RTPENGINE_OPTION_INVALID');
      expect(error.code).toBe('MEDIA_INVALID_OPTIONS');
      expect(error.status).toBeUndefined();
    }
  });
});

describe('retransmission and reply matching', () => {
  it('a lost request is sent again with the same cookie; the late duplicate reply is dropped', async () => {
    const ng = await fakeNg((cookie, request, n) => (n < 3 ? undefined : framed(cookie, { result: 'pong', echo: String(request['command']) })));
    const client = await RtpengineClient.connect({ host: '127.0.0.1', port: ng.port, timeoutMs: 100, retries: 3 });
    const reply = await client.request({ command: 'ping' });
    expect(reply.result).toBe('pong');
    expect(reply.dict['echo']).toBe('ping');
    expect(ng.seen).toHaveLength(3);
    expect(new Set(ng.seen).size).toBe(1);
    expect(client.stats).toMatchObject({ requests: 1, retransmissions: 2, timeouts: 0 });
    // The next request gets a new cookie.
    await client.request({ command: 'ping' });
    expect(ng.seen[3]).not.toBe(ng.seen[0]);
    await client.close();
    await ng.close();
  });

  it('no reply at all: RTPENGINE_TIMEOUT after exactly 1 + retries tries', async () => {
    const ng = await fakeNg(() => undefined);
    const client = await RtpengineClient.connect({ host: '127.0.0.1', port: ng.port, timeoutMs: 50, retries: 2 });
    const error = await rejection(client.request({ command: 'offer', sdp: 'v=0' }));
    expect(error.rtpengineCode).toBe('RTPENGINE_TIMEOUT');
    expect(error.message).toContain('did not answer offer (3 tries, 50 ms each)');
    expect(ng.seen).toHaveLength(3);
    expect(client.stats).toMatchObject({ timeouts: 1, pending: 0 });
    await client.close();
    await ng.close();
  });

  it('stray, spoofed-cookie and malformed replies never resolve a request wrongly', async () => {
    let target: { port: number; address: string } | undefined;
    const ng = await fakeNg((cookie, _request, n) => {
      if (n === 1) return framed('someone-else_1', { result: 'ok', sdp: 'evil' });
      if (n === 2) return `${cookie} d6:result2:ok3:sdp99:short`;
      return framed(cookie, { result: 'ok', sdp: 'good' });
    });
    ng.socket.on('message', (_d, rinfo) => (target = rinfo));
    const client = await RtpengineClient.connect({ host: '127.0.0.1', port: ng.port, timeoutMs: 100, retries: 0 });
    // 1: a reply with a cookie nobody waits for is dropped, so this one times out.
    expect((await rejection(client.request({ command: 'offer' }))).rtpengineCode).toBe('RTPENGINE_TIMEOUT');
    expect(client.stats.strayReplies).toBe(1);
    // 2: malformed bencode is a typed error, not a crash.
    const bad = await rejection(client.request({ command: 'offer' }));
    expect(bad.rtpengineCode).toBe('RTPENGINE_BAD_REPLY');
    expect(bad.message).toContain('unreadable reply to offer');
    // 3: datagrams from another socket are not accepted (the client's socket is connected).
    const other = createSocket('udp4');
    const good = client.request({ command: 'offer' });
    other.send(framed('x', { result: 'ok' }), target?.port ?? 1, '127.0.0.1');
    expect((await good).dict['sdp']).toBe('good');
    other.close();
    await client.close();
    await ng.close();
  });

  it('result error / load limit / unknown result / missing sdp map to typed errors with status 503', async () => {
    const answers: Array<Record<string, string>> = [
      { result: 'error', 'error-reason': 'Unknown call-id' },
      { result: 'error' },
      { result: 'load limit', message: 'Parallel session limit reached' },
      { result: 'maybe' },
      { result: 'ok' },
      { result: 'ok', sdp: 'v=0\r\n', warning: 'Call-ID not found' },
    ];
    const ng = await fakeNg((cookie, _r, n) => framed(cookie, answers[n - 1] ?? { result: 'ok' }));
    const warnings: unknown[] = [];
    const client = await RtpengineClient.connect({ host: '127.0.0.1', port: ng.port, logger: { warn: (d, m) => warnings.push([m, d]) } });
    const relay = new RtpengineMediaRelay(client);
    const side = { leg: 'a', address: '127.0.0.1', transport: 'udp', family: 4 } as const;
    const call = { callId: 'c', fromTag: 'f' };
    const e1 = await rejection(relay.offer('v=0', call, side, side));
    expect([e1.rtpengineCode, e1.code, e1.status, e1.reason, e1.message]).toEqual(['RTPENGINE_ERROR', 'MEDIA_REFUSED', 503, 'Unknown call-id', 'rtpengine refused offer: Unknown call-id']);
    expect((await rejection(relay.offer('v=0', call, side, side))).reason).toBe('no reason given');
    const e3 = await rejection(relay.offer('v=0', call, side, side));
    expect([e3.rtpengineCode, e3.code, e3.status, e3.reason]).toEqual(['RTPENGINE_LOAD_LIMIT', 'MEDIA_LIMIT', 503, 'Parallel session limit reached']);
    expect((await rejection(relay.offer('v=0', call, side, side))).rtpengineCode).toBe('RTPENGINE_BAD_REPLY');
    expect((await rejection(relay.offer('v=0', call, side, side))).message).toBe('rtpengine answered offer without an SDP');
    // A warning is not an error: the SDP is used and the warning logged.
    expect(await relay.offer('v=0', call, side, side)).toBe('v=0\r\n');
    expect(warnings).toEqual([['rtpengine: warning', { command: 'offer', warning: 'Call-ID not found' }]]);
    await relay.close();
    await client.close();
    await ng.close();
  });

  it('bounds waiting requests (maxPending) and fails them all on close', async () => {
    const ng = await fakeNg(() => undefined);
    const client = await RtpengineClient.connect({ host: '127.0.0.1', port: ng.port, maxPending: 2, timeoutMs: 5000 });
    const first = rejection(client.request({ command: 'ping' }));
    const second = rejection(client.request({ command: 'ping' }));
    expect((await rejection(client.request({ command: 'ping' }))).rtpengineCode).toBe('RTPENGINE_OVERLOADED');
    await client.close();
    expect((await first).rtpengineCode).toBe('RTPENGINE_CLOSED');
    expect((await second).rtpengineCode).toBe('RTPENGINE_CLOSED');
    expect((await rejection(client.request({ command: 'ping' }))).rtpengineCode).toBe('RTPENGINE_CLOSED');
    await client.close();
    await ng.close();
  });

  it('a real rtpengine that hangs for a while: retransmissions with the same cookie get one call, not two', async () => {
    const client = await RtpengineClient.connect({ host: daemon.host, port: daemon.port, timeoutMs: 250, retries: 10 });
    const relay = new RtpengineMediaRelay(client);
    const side = { leg: 'a', address: '127.0.0.1', transport: 'udp', family: 4 } as const;
    await daemon.pause();
    const offered = relay.offer(
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n',
      { callId: 'hang-1', fromTag: 'f' },
      side,
      side,
    );
    // rtpengine hangs until the client has sent the same request three times.
    await until(() => client.stats.retransmissions >= 2, 10_000, 'two retransmissions');
    daemon.signal('SIGCONT');
    const sdp = await offered;
    const port = Number(/m=audio (\d+) /.exec(sdp)?.[1]);
    // rtpengine answers the queued copies from its cookie cache ("Detected command ... as a
    // duplicate"); the client drops those replies: one offer, one call, one set of ports.
    await until(() => client.stats.strayReplies >= 2, 10_000, 'the duplicate replies');
    expect(client.stats).toMatchObject({ requests: 1, timeouts: 0, pending: 0 });
    const query = await client.request({ command: 'query', 'call-id': 'hang-1' });
    expect(JSON.stringify(query.dict)).toContain(`"local port":${port}`);
    await relay.delete({ callId: 'hang-1', fromTag: 'f' });
    await client.close();
  });
});
