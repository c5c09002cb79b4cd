import { describe, expect, it } from 'vitest';
import { type FramerEvent, StreamFramer, parseMessage } from '../src/index.js';
import { INVITE, RESPONSE_200 } from './messages.js';

const messages = (events: FramerEvent[]) =>
  events.flatMap((e) => (e.type === 'message' ? [Buffer.from(e.bytes).toString('utf8')] : []));

describe('StreamFramer (RFC 3261 §18.3)', () => {
  it('yields whole messages from arbitrary chunking', () => {
    const stream = Buffer.from(INVITE + RESPONSE_200 + INVITE);
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const framer = new StreamFramer();
      const out: string[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...messages(framer.push(stream.subarray(i, i + size))));
      expect(out).toEqual([INVITE, RESPONSE_200, INVITE]);
      expect(framer.bufferedBytes).toBe(0);
    }
  });

  it('hands out messages that stay intact while more data arrives', () => {
    const framer = new StreamFramer();
    const [first] = framer.push(Buffer.from(INVITE + INVITE.slice(0, 20)));
    framer.push(Buffer.from(INVITE.slice(20)));
    expect(first?.type).toBe('message');
    if (first?.type !== 'message') throw new Error('unreachable');
    expect(parseMessage(first.bytes).getHeader('call-id')).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  });

  // Issue 9 item 4: the framer reads Content-Length by the same 1*DIGIT rule as parseMessage.
  it('frames by a Content-Length with leading zeros or folded onto a continuation line, as parseMessage reads it', () => {
    const head = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n';
    for (const cl of ['Content-Length: 000000000000000000005', 'l:00005', 'Content-Length:\r\n 5', 'Content-Length: \r\n\t0000000000005']) {
      const text = `${head}${cl}\r\n\r\nhello${head}Content-Length: 0\r\n\r\n`;
      const events = new StreamFramer().push(Buffer.from(text));
      expect(events.map((e) => e.type), cl).toEqual(['message', 'message']);
      const first = events[0]!;
      if (first.type !== 'message') throw new Error('unreachable');
      const m = parseMessage(first.bytes);
      expect([m.contentLength, Buffer.from(m.body).toString()]).toEqual([5, 'hello']);
    }
    const huge = new StreamFramer().push(Buffer.from(`${head}Content-Length: 99999999999999999999999\r\n\r\n`));
    expect(huge).toEqual([expect.objectContaining({ type: 'error' })]);
    expect((huge[0] as { error: { status?: number } }).error.status).toBe(513);
    expect(new StreamFramer().push(Buffer.from(`${head}Content-Length: 5 5\r\n\r\n`))[0]?.type).toBe('error');
  });

  it('reports CRLFCRLF as ping and a lone CRLF as pong (RFC 5626 §4.4.1)', () => {
    const framer = new StreamFramer();
    expect(framer.push(Buffer.from('\r\n\r\n'))).toEqual([{ type: 'ping' }]);
    // A side that receives pings waits: the CRLF may be half a ping.
    expect(framer.push(Buffer.from('\r\n'))).toEqual([]);
    expect(framer.push(Buffer.from('OPTIONS')).map((e) => e.type)).toEqual(['pong']);
    const client = new StreamFramer({ expectPings: false });
    expect(client.push(Buffer.from('\r\n'))).toEqual([{ type: 'pong' }]);
    const mixed = new StreamFramer().push(Buffer.from(`\r\n\r\n${RESPONSE_200}\r\n\r\n`));
    expect(mixed.map((e) => e.type)).toEqual(['ping', 'message', 'ping']);
  });

  it('waits for the second half of a ping split across chunks', () => {
    const framer = new StreamFramer();
    expect(framer.push(Buffer.from('\r\n\r'))).toEqual([]);
    expect(framer.push(Buffer.from('\n'))).toEqual([{ type: 'ping' }]);
    expect(framer.push(Buffer.from('\r\n'))).toEqual([]);
    expect(framer.push(Buffer.from('\r\n'))).toEqual([{ type: 'ping' }]);
  });

  it('loses framing without Content-Length and refuses everything after', () => {
    const framer = new StreamFramer();
    const events = framer.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n'));
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('error');
    expect(framer.failed).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
    expect(framer.push(Buffer.from(INVITE))[0]?.type).toBe('error');
  });

  it('refuses a malformed Content-Length', () => {
    const framer = new StreamFramer();
    const [e] = framer.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n'));
    expect(e?.type).toBe('error');
  });

  it('never buffers more than its limits', () => {
    const framer = new StreamFramer({ maxHeaderSize: 1024, maxMessageSize: 4096 });
    const header = Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nSubject: ${'x'.repeat(2000)}`);
    const [e] = framer.push(header);
    expect(e?.type).toBe('error');
    if (e?.type !== 'error') throw new Error('unreachable');
    expect(e.error.status).toBe(513);

    const big = new StreamFramer({ maxMessageSize: 4096 });
    const [e2] = big.push(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nl: 100000\r\n\r\n'));
    expect(e2?.type).toBe('error');
    expect(big.bufferedBytes).toBe(0);
  });

  it('reads the compact Content-Length and LF-only line ends', () => {
    const framer = new StreamFramer();
    const out = messages(framer.push(Buffer.from('MESSAGE sip:a@b SIP/2.0\nl: 2\n\nhiMESSAGE sip:a@b SIP/2.0\r\nL : 1\r\n\r\n!')));
    expect(out).toEqual(['MESSAGE sip:a@b SIP/2.0\nl: 2\n\nhi', 'MESSAGE sip:a@b SIP/2.0\r\nL : 1\r\n\r\n!']);
  });
});
