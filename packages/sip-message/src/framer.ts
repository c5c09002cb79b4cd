import { digits } from './digits.js';
import { SipParseError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE } from './parse.js';

/** What the framer found in the stream. */
export type FramerEvent =
  /** One whole message (start line, headers, body by Content-Length), ready for parseMessage. */
  | { type: 'message'; bytes: Buffer }
  /** A CRLFCRLF keep-alive ping between messages: answer with one CRLF (RFC 5626 §4.4.1). */
  | { type: 'ping' }
  /** A lone CRLF between messages: the pong to our ping. */
  | { type: 'pong' }
  /** Framing is lost (no or bad Content-Length, too large): close the connection. */
  | { type: 'error'; error: SipParseError };

export interface StreamFramerOptions {
  /** Largest message (headers + body) accepted; default 65535. */
  maxMessageSize?: number | undefined;
  /** Largest header section accepted before its blank line; default 16384. */
  maxHeaderSize?: number | undefined;
  /**
   * This side receives CRLFCRLF pings (a server, or an accepting connection): a CRLF at the end
   * of the data waits for the next bytes before it is called a pong, so a ping split across two
   * reads is still a ping. Set false on a connection that sends pings and awaits pongs.
   * Default true.
   */
  expectPings?: boolean | undefined;
}

const CR = 13;
const LF = 10;

/**
 * Cuts a byte stream (TCP, TLS, or the data of WebSocket frames) into SIP messages. It buffers
 * at most one message (bounded by the options) and, once framing is lost, refuses everything
 * after: a stream transport must then close the connection.
 * @see RFC 3261 §18.3; RFC 5626 §4.4.1
 */
export class StreamFramer {
  readonly #maxMessageSize: number;
  readonly #maxHeaderSize: number;
  readonly #expectPings: boolean;
  #buf: Buffer = Buffer.alloc(0);
  // Where the search for the blank line resumes, so a slow header costs linear time.
  #scanFrom = 0;
  #failed = false;

  constructor(options: StreamFramerOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#maxHeaderSize = options.maxHeaderSize ?? 16384;
    this.#expectPings = options.expectPings ?? true;
  }

  /** Bytes held while waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#buf.length;
  }

  /** True once framing was lost. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Feeds a chunk; returns what is now complete, in order. */
  push(chunk: Uint8Array): FramerEvent[] {
    if (this.#failed) return [{ type: 'error', error: new SipParseError('stream framing already lost', 400, 'SIP_FRAMING_ERROR') }];
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Messages handed out are views into the buffer, so it is never written in place: new data
    // makes a new buffer.
    this.#buf = this.#buf.length === 0 ? bytes : Buffer.concat([this.#buf, bytes]);
    const events: FramerEvent[] = [];
    for (;;) {
      const ev = this.#next();
      if (ev === undefined) break;
      events.push(ev);
      if (ev.type === 'error') break;
    }
    return events;
  }

  #fail(message: string, status = 400): FramerEvent {
    this.#failed = true;
    this.#buf = Buffer.alloc(0);
    return { type: 'error', error: new SipParseError(message, status, 'SIP_FRAMING_ERROR') };
  }

  #next(): FramerEvent | undefined {
    // Between messages: keep-alives (RFC 5626 §4.4.1) and stray line ends (RFC 3261 §7.5).
    for (;;) {
      const buf = this.#buf;
      const len = buf.length;
      if (len === 0) return undefined;
      const b0 = buf[0];
      if (b0 !== CR && b0 !== LF) break;
      if (b0 === CR) {
        if (len === 1) return undefined;
        if (buf[1] === LF) {
          if (len >= 4 && buf[2] === CR && buf[3] === LF) {
            this.#consume(4);
            return { type: 'ping' };
          }
          // A lone CRLF is a pong. At the end of what arrived it may also be the first half of a
          // ping, so a side that receives pings (the default) waits for the next bytes.
          if ((len === 2 && !this.#expectPings) || (len > 2 && buf[2] !== CR)) {
            this.#consume(2);
            return { type: 'pong' };
          }
          if (len <= 3) return undefined;
        }
      }
      this.#consume(1);
    }
    const buf = this.#buf;
    const len = buf.length;
    const headerEnd = this.#findBlankLine();
    if (headerEnd === -1) {
      if (len > this.#maxHeaderSize) return this.#fail(`header section larger than ${this.#maxHeaderSize} bytes`, 513);
      return undefined;
    }
    const contentLength = findContentLength(buf, headerEnd.headersEnd);
    if (contentLength === undefined) return this.#fail('no Content-Length on a stream transport');
    if (contentLength < 0) return this.#fail('bad Content-Length');
    const total = headerEnd.bodyStart + contentLength;
    if (total > this.#maxMessageSize) return this.#fail(`message larger than ${this.#maxMessageSize} bytes`, 513);
    if (len < total) return undefined;
    const message = buf.subarray(0, total);
    this.#consume(total);
    return { type: 'message', bytes: message };
  }

  #consume(n: number): void {
    this.#buf = this.#buf.subarray(n);
    this.#scanFrom = 0;
  }

  #findBlankLine(): { headersEnd: number; bodyStart: number } | -1 {
    const buf = this.#buf;
    const len = buf.length;
    let i = Math.max(0, this.#scanFrom - 3);
    for (; i < len; i++) {
      if (buf[i] !== LF) continue;
      if (buf[i + 1] === LF) return { headersEnd: i + 1, bodyStart: i + 2 };
      if (buf[i + 1] === CR && buf[i + 2] === LF) return { headersEnd: i + 1, bodyStart: i + 3 };
      if (i + 2 >= len) break;
    }
    this.#scanFrom = len;
    return -1;
  }
}

const CONTENT_LENGTH = 'content-length';

/**
 * Finds Content-Length (or compact `l`) in a header section; undefined when absent, -1 when
 * malformed or conflicting.
 */
function findContentLength(buf: Buffer, end: number): number | undefined {
  let found: number | undefined;
  let lineStart = 0;
  while (lineStart < end) {
    let lf = buf.indexOf(LF, lineStart);
    if (lf === -1 || lf > end) lf = end;
    let colon = -1;
    for (let i = lineStart; i < lf; i++) {
      if (buf[i] === 58) {
        colon = i;
        break;
      }
    }
    if (colon !== -1) {
      let nameEnd = colon;
      while (nameEnd > lineStart && (buf[nameEnd - 1] === 32 || buf[nameEnd - 1] === 9)) nameEnd--;
      const n = nameEnd - lineStart;
      let match = false;
      if (n === 1) match = (buf[lineStart]! | 0x20) === 0x6c;
      else if (n === CONTENT_LENGTH.length) {
        match = true;
        for (let k = 0; k < n; k++) {
          if ((buf[lineStart + k]! | 0x20) !== CONTENT_LENGTH.charCodeAt(k)) {
            match = false;
            break;
          }
        }
      }
      if (match) {
        // The value may start on a continuation line (RFC 3261 §7.3.1), as parseMessage reads it.
        let valueEnd = lf;
        while (valueEnd + 1 < end && (buf[valueEnd + 1] === 32 || buf[valueEnd + 1] === 9)) {
          const next = buf.indexOf(LF, valueEnd + 1);
          valueEnd = next === -1 || next > end ? end : next;
        }
        // 1*DIGIT: leading zeros are legal; a huge value saturates and fails the size check.
        const v = digits(buf.toString('latin1', colon + 1, valueEnd).trim(), 2 ** 31);
        if (v === -1) return -1;
        if (found !== undefined && found !== v) return -1;
        found = v;
        lf = valueEnd;
      }
    }
    lineStart = lf + 1;
  }
  return found;
}
