// RFC 4475 messages over a stream transport (TCP/TLS/WebSocket, RFC 3261 §18.3): the framer cuts
// them out of one byte stream by Content-Length, however the stream is chunked; a message whose
// Content-Length is missing, negative or doubled loses the framing (close the connection), and
// one whose body has not all arrived (clerr) is waited for.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamFramer, parseMessage, serializeMessage, type FramerEvent } from '../src/index.js';

interface Entry {
  valid: boolean;
  expect?: { contentLength: number | null; serializedLength: number };
}
const dir = new URL('./fixtures/rfc4475/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { messages: Record<string, Entry> };
const load = (name: string): Buffer => readFileSync(new URL(`${name}.dat`, dir));

// Every valid message that carries a Content-Length, cut at the end of its body.
const framed = Object.entries(manifest.messages)
  .filter(([, e]) => e.valid && e.expect?.contentLength !== null)
  .map(([name, e]) => ({ name, bytes: load(name).subarray(0, e.expect!.serializedLength) }));

/** A small deterministic PRNG, so a failing chunking can be replayed. */
function chunker(seed: number): (max: number) => number {
  let s = seed >>> 0;
  return (max) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 1 + (s % max);
  };
}

function feed(framer: StreamFramer, stream: Buffer, next: (max: number) => number, max: number): FramerEvent[] {
  const events: FramerEvent[] = [];
  for (let i = 0; i < stream.length; ) {
    const n = Math.min(next(max), stream.length - i);
    events.push(...framer.push(stream.subarray(i, i + n)));
    i += n;
  }
  return events;
}

describe('RFC 4475 over a stream', () => {
  it('has the valid messages with a Content-Length to stream', () => {
    expect(framed.length).toBe(25);
  });

  it.each([1, 7, 64, 1500, 100_000])('cuts all of them out of one stream read in chunks of up to %i octets', (max) => {
    const ka = Buffer.from('\r\n\r\n');
    const stream = Buffer.concat(framed.flatMap((f, i) => (i % 5 === 4 ? [f.bytes, ka] : [f.bytes])));
    const framer = new StreamFramer();
    const events = feed(framer, stream, chunker(max), max);
    const messages = events.filter((e) => e.type === 'message');
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(messages).toHaveLength(framed.length);
    messages.forEach((e, i) => {
      if (e.type !== 'message') return;
      expect(Buffer.from(e.bytes).equals(framed[i]!.bytes), framed[i]!.name).toBe(true);
      expect(Buffer.from(serializeMessage(parseMessage(e.bytes))).equals(framed[i]!.bytes)).toBe(true);
    });
    // Each CRLFCRLF keep-alive is a ping, however the reads split it (RFC 5626 §4.4.1).
    const pings = events.filter((e) => e.type === 'ping').length;
    const pongs = events.filter((e) => e.type === 'pong').length;
    expect(pongs).toBe(0);
    expect(pings).toBe(Math.floor(framed.length / 5));
    expect(framer.bufferedBytes).toBe(0);
    expect(framer.failed).toBe(false);
  });

  it('dblreq: on a stream the second request is a message of its own after the REGISTER', () => {
    const framer = new StreamFramer();
    const events = framer.push(load('dblreq'));
    const first = events[0];
    expect(first?.type).toBe('message');
    if (first?.type !== 'message') return;
    expect(Buffer.from(first.bytes).toString('latin1')).toMatch(/^REGISTER [\s\S]*Content-Length: 0\r\n\r\n$/);
  });

  it('clerr: a body shorter than Content-Length is waited for, not delivered', () => {
    const framer = new StreamFramer();
    expect(framer.push(load('clerr'))).toEqual([]);
    expect(framer.failed).toBe(false);
    expect(framer.bufferedBytes).toBe(load('clerr').length);
  });

  it.each(['ncl', 'mcl01', 'inv2543'])('%s: framing is lost (negative, doubled or missing Content-Length)', (name) => {
    const framer = new StreamFramer();
    const events = framer.push(load(name));
    expect(events.map((e) => e.type)).toEqual(['error']);
    expect(framer.failed).toBe(true);
    const again = framer.push(load('zeromf'));
    expect(again.map((e) => e.type)).toEqual(['error']);
  });
});
