import { describe, expect, it } from 'vitest';
import { SipError, SipParseError, SipRequest, SipResponse, isRequest, parseMessage } from '../src/index.js';
import { COMPACT, INVITE, RESPONSE_200, crlf } from './messages.js';

describe('parseMessage: start line', () => {
  it('parses a request line', () => {
    const m = parseMessage(INVITE);
    expect(m).toBeInstanceOf(SipRequest);
    expect(isRequest(m)).toBe(true);
    if (!isRequest(m)) throw new Error('unreachable');
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@biloxi.example.com');
    expect(m.version).toBe('SIP/2.0');
  });

  it('parses a status line, with and without reason phrase', () => {
    const m = parseMessage(RESPONSE_200);
    expect(m).toBeInstanceOf(SipResponse);
    if (m.isRequest) throw new Error('unreachable');
    expect(m.status).toBe(200);
    expect(m.reason).toBe('OK');
    const bare = parseMessage('SIP/2.0 100 \r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n');
    if (bare.isRequest) throw new Error('unreachable');
    expect(bare.status).toBe(100);
    expect(bare.reason).toBe('');
  });

  it('keeps a UTF-8 reason phrase', () => {
    const m = parseMessage('SIP/2.0 200 \u304a\u3063\u3051\u30fc\r\nContent-Length: 0\r\n\r\n');
    if (m.isRequest) throw new Error('unreachable');
    expect(m.reason).toBe('\u304a\u3063\u3051\u30fc');
  });

  it.each([
    ['two spaces before the URI', 'INVITE  sip:a@b SIP/2.0'],
    ['whitespace inside the URI', 'INVITE sip:a@b; lr SIP/2.0'],
    ['trailing space', 'INVITE sip:a@b SIP/2.0 '],
    ['no version', 'INVITE sip:a@b'],
    ['bad method', 'INV<TE sip:a@b SIP/2.0'],
    ['garbage version', 'INVITE sip:a@b HTTP/1.1'],
    ['status code with two digits', 'SIP/2.0 20 OK'],
    ['status code 700', 'SIP/2.0 700 Odd'],
  ])('refuses %s with 400', (_name, line) => {
    expect(() => parseMessage(`${line}\r\nContent-Length: 0\r\n\r\n`)).toThrowError(SipParseError);
    try {
      parseMessage(`${line}\r\nContent-Length: 0\r\n\r\n`);
    } catch (e) {
      expect(SipError.isInstance(e)).toBe(true);
      expect((e as SipParseError).status).toBe(400);
    }
  });

  it('accepts another SIP version so that a 505 can be answered', () => {
    const m = parseMessage('INVITE sip:a@b SIP/7.0\r\nContent-Length: 0\r\n\r\n');
    expect(m.version).toBe('SIP/7.0');
  });

  it('skips CRLFs before the start line (RFC 3261 §7.5)', () => {
    const m = parseMessage(`\r\n\r\n${COMPACT}`);
    expect(isRequest(m) && m.method).toBe('OPTIONS');
  });

  it('refuses an empty packet and NULs after CRLFCRLF (Net::SIP test 23)', () => {
    expect(() => parseMessage('')).toThrowError(SipParseError);
    expect(() => parseMessage(`\r\n\r\n${'\0'.repeat(12)}`)).toThrowError(SipParseError);
  });
});

describe('parseMessage: headers', () => {
  it('looks names up case-insensitively and by compact form', () => {
    const m = parseMessage(COMPACT);
    expect(m.getHeader('Via')).toBe('SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877');
    expect(m.getHeader('v')).toBe(m.getHeader('VIA'));
    expect(m.getHeader('to')).toBe('<sip:carol@chicago.example.com>');
    expect(m.getHeader('CALL-ID')).toBe('a84b4c76e66710');
    expect(m.getHeader('contact')).toBe('<sip:alice@pc33.atlanta.example.com>');
    expect(m.getHeaders('supported')).toEqual(['timer', '100rel']);
    expect(m.contentLength).toBe(0);
    expect(m.getHeader('x-missing')).toBeUndefined();
    expect(m.getHeaders('x-missing')).toEqual([]);
  });

  it('splits list headers across lines and commas, but not inside quotes or <>', () => {
    const m = parseMessage(INVITE);
    expect(m.getHeaders('route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>', '<sip:p3.example.com;lr>']);
    expect(m.getHeaders('contact')).toHaveLength(2);
    expect(m.getHeader('from')).toBe('"Alice, A." <sip:alice@atlanta.example.com>;tag=1928301774');
    expect(m.getHeaders('from')).toHaveLength(1);
  });

  it('does not split headers whose values are not lists', () => {
    const m = parseMessage(
      crlf([
        'REGISTER sip:example.com SIP/2.0',
        'Authorization: Digest username="bob", realm="example.com", nonce="abc", uri="sip:example.com", response="0123"',
        'Date: Sat, 13 Nov 2010 23:29:00 GMT',
        'Content-Length: 0',
        '',
        '',
      ]),
    );
    expect(m.getHeaders('authorization')).toHaveLength(1);
    expect(m.getHeader('date')).toBe('Sat, 13 Nov 2010 23:29:00 GMT');
  });

  it('unfolds continuation lines into one space (RFC 3261 §7.3.1)', () => {
    const m = parseMessage(
      crlf(['OPTIONS sip:a@b SIP/2.0', 'Subject: I know you are there,', '     pick up the phone', ' \tand talk to me!', 'Content-Length: 0', '', '']),
    );
    expect(m.getHeader('subject')).toBe('I know you are there, pick up the phone and talk to me!');
  });

  it('accepts whitespace before the colon and an empty value', () => {
    const m = parseMessage(crlf(['OPTIONS sip:a@b SIP/2.0', 'Max-Forwards  :  70', 'Supported:', 'Content-Length: 0', '', '']));
    expect(m.getHeader('max-forwards')).toBe('70');
    expect(m.maxForwards).toBe(70);
    expect(m.hasHeader('supported')).toBe(true);
    expect(m.getHeaders('supported')).toEqual([]);
  });

  it('exposes every field line in order with names as written', () => {
    const m = parseMessage(COMPACT);
    expect(m.headers.map((h) => h.name)).toEqual(['v', 'Max-Forwards', 't', 'f', 'i', 'CSeq', 'm', 'k', 'l']);
  });

  it.each([
    ['a line without colon', 'Bogus header line'],
    ['a bad header name', 'Bad Name: x'],
    ['a continuation line first', ' folded: x'],
  ])('refuses %s', (_n, line) => {
    expect(() => parseMessage(`OPTIONS sip:a@b SIP/2.0\r\n${line}\r\nContent-Length: 0\r\n\r\n`)).toThrowError(SipParseError);
  });

  it('refuses a header section without its blank line', () => {
    expect(() => parseMessage('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n')).toThrowError(/end of headers/);
  });
});

describe('parseMessage: body and datagram rules (RFC 3261 §18.3)', () => {
  it('reads the body by Content-Length', () => {
    const m = parseMessage(INVITE);
    expect(Buffer.from(m.body).toString()).toBe('v=0\r\n');
  });

  it('takes the rest of the datagram when there is no Content-Length', () => {
    const m = parseMessage('MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nhello');
    expect(Buffer.from(m.body).toString()).toBe('hello');
    expect(m.contentLength).toBeUndefined();
  });

  it('discards octets after Content-Length (RFC 4475 dblreq)', () => {
    const m = parseMessage('MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhello');
    expect(Buffer.from(m.body).toString()).toBe('he');
  });

  it('refuses a Content-Length beyond the datagram', () => {
    expect(() => parseMessage('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 9\r\n\r\nhello')).toThrowError(/Content-Length/);
  });

  it('refuses conflicting and malformed Content-Length', () => {
    expect(() => parseMessage('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nhello')).toThrowError(/conflicting/);
    expect(() => parseMessage('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\nhello')).toThrowError(/Content-Length/);
    expect(() => parseMessage('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1a\r\n\r\nhello')).toThrowError(/Content-Length/);
  });

  it('accepts bytes as Uint8Array without copying semantics changing', () => {
    const bytes = new TextEncoder().encode(COMPACT);
    const m = parseMessage(bytes);
    expect(m.getHeader('i')).toBe('a84b4c76e66710');
  });
});

describe('parseMessage: limits', () => {
  it('refuses a message over maxMessageSize with 513', () => {
    try {
      parseMessage(INVITE, { maxMessageSize: 100 });
      expect.unreachable();
    } catch (e) {
      expect(SipParseError.isInstance(e)).toBe(true);
      expect((e as SipParseError).status).toBe(513);
      expect((e as SipParseError).code).toBe('SIP_MESSAGE_TOO_LARGE');
    }
  });

  it('refuses more header fields than maxHeaders', () => {
    const many = `OPTIONS sip:a@b SIP/2.0\r\n${'X-A: 1\r\n'.repeat(30)}\r\n`;
    expect(() => parseMessage(many, { maxHeaders: 20 })).toThrowError(/header fields/);
    expect(parseMessage(many, { maxHeaders: 30 }).getHeaders('x-a')).toHaveLength(30);
  });

  it('refuses a line longer than maxLineLength', () => {
    const long = `OPTIONS sip:a@b SIP/2.0\r\nSubject: ${'x'.repeat(200)}\r\n\r\n`;
    expect(() => parseMessage(long, { maxLineLength: 100 })).toThrowError(/too long/);
  });
});
