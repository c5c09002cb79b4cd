import { describe, expect, it } from 'vitest';
import { parseMessage, serializeMessage, type SipRequest } from '../src/index.js';
import { COMPACT, INVITE, RESPONSE_200 } from './messages.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('serializeMessage', () => {
  it.each([
    ['INVITE', INVITE],
    ['200', RESPONSE_200],
    ['compact', COMPACT],
  ])('returns an unmodified %s byte for byte', (_n, msg) => {
    const m = parseMessage(msg);
    expect(m.modified).toBe(false);
    expect(text(serializeMessage(m))).toBe(msg);
  });

  it('keeps folded lines and odd spacing of untouched headers', () => {
    const msg = 'OPTIONS sip:a@b SIP/2.0\r\nSubject : a,\r\n  b\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n';
    const m = parseMessage(msg);
    m.insertHeader('Via', 'SIP/2.0/UDP proxy;branch=z9hG4bK2');
    expect(text(serializeMessage(m))).toBe(
      'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP proxy;branch=z9hG4bK2\r\nSubject : a,\r\n  b\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('applies the edits of a proxy and keeps every other line', () => {
    const m = parseMessage(INVITE) as SipRequest;
    m.insertHeader('Record-Route', '<sip:proxy.example.com;lr>');
    m.insertHeader('Via', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1');
    m.setHeader('Max-Forwards', String((m.maxForwards ?? 70) - 1));
    expect(m.removeHeaderValue('route', 0)).toBe(true);
    m.replaceHeaderValue('contact', 1, '<sip:token@proxy.example.com>');
    const out = text(serializeMessage(m));
    const lines = out.split('\r\n');
    expect(lines.slice(0, 3)).toEqual([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1',
      'Record-Route: <sip:proxy.example.com;lr>',
    ]);
    expect(lines).toContain('Max-Forwards: 69');
    expect(lines).toContain('Route: <sip:p2.example.com;lr>');
    expect(lines).toContain('Route: <sip:p3.example.com;lr>');
    expect(lines).toContain('Contact: <sip:alice@pc33.atlanta.example.com>;expires=60, <sip:token@proxy.example.com>');
    for (const original of INVITE.split('\r\n')) {
      if (/^(Max-Forwards|Route|Contact):/.test(original)) continue;
      expect(lines).toContain(original);
    }
    const again = parseMessage(out);
    expect(again.via.map((v) => v.host)).toEqual(['proxy.example.com', 'pc33.atlanta.example.com']);
    expect(again.routes.map((r) => r.uri)).toEqual(['sip:p2.example.com;lr', 'sip:p3.example.com;lr']);
    expect(again.maxForwards).toBe(69);
    expect(text(again.body)).toBe('v=0\r\n');
  });

  it('removes a whole field when its last value goes', () => {
    const m = parseMessage(INVITE);
    m.removeHeaderValue('route', 2);
    expect(m.getHeaders('route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(text(serializeMessage(m))).not.toContain('p3.example.com');
    expect(m.removeHeaderValue('route', 5)).toBe(false);
  });

  it('replaces the Request-URI', () => {
    const m = parseMessage(INVITE) as SipRequest;
    m.uri = 'sip:bob@192.0.2.4:5062;transport=udp';
    expect(m.requestUri).toMatchObject({ host: '192.0.2.4', port: 5062 });
    const out = text(serializeMessage(m));
    expect(out.startsWith('INVITE sip:bob@192.0.2.4:5062;transport=udp SIP/2.0\r\nVia: SIP/2.0/UDP pc33')).toBe(true);
    expect(() => {
      m.uri = 'sip:a b';
    }).toThrow();
  });

  it('sets a new body and keeps Content-Length right', () => {
    const m = parseMessage(INVITE);
    m.setBody('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n', 'application/sdp');
    const again = parseMessage(serializeMessage(m));
    expect(again.contentLength).toBe(31);
    expect(text(again.body)).toBe('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
    expect(again.getHeaders('content-type')).toEqual(['application/sdp']);
  });

  it('adds Content-Length to a modified message that had none, for stream transports', () => {
    const m = parseMessage('MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nhello');
    m.setHeader('Max-Forwards', '69');
    const out = text(serializeMessage(m));
    expect(out).toBe('MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nMax-Forwards: 69\r\nContent-Length: 5\r\n\r\nhello');
  });

  it('drops octets after Content-Length when rebuilding (RFC 4475 dblreq)', () => {
    const m = parseMessage('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhello');
    expect(text(serializeMessage(m))).toBe('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhe');
    m.appendHeader('X-Test', '1');
    expect(text(serializeMessage(m))).toBe('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\nX-Test: 1\r\n\r\nhe');
  });

  it('writes edited fields with their original name spelling', () => {
    const m = parseMessage(COMPACT);
    m.replaceHeaderValue('contact', 0, '<sip:new@h>');
    expect(text(serializeMessage(m))).toContain('\r\nm: <sip:new@h>\r\n');
  });

  it('invalidates cached views after an edit', () => {
    const m = parseMessage(INVITE);
    expect(m.topVia?.host).toBe('pc33.atlanta.example.com');
    m.insertHeader('v', 'SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKx');
    expect(m.topVia?.host).toBe('2001:db8::1');
    expect(m.via).toHaveLength(2);
    m.removeHeader('via');
    expect(m.topVia).toBeUndefined();
    expect(m.via).toEqual([]);
  });

  it('removeHeader counts the field lines it removed', () => {
    const m = parseMessage(INVITE);
    expect(m.removeHeader('route')).toBe(2);
    expect(m.removeHeader('route')).toBe(0);
  });
});
