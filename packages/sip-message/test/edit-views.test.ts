import { describe, expect, it } from 'vitest';
import { parseMessage, serializeMessage, type SipRequest } from '../src/index.js';

// An edit parses again only the typed view of the header it changed: the others stay the same
// objects, and the edited one reads the new value (also when the edit names it in compact form).
const text = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1',
  'Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-2',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'Record-Route: <sip:rr.example.com;lr>',
  'Max-Forwards: 70',
  'From: <sip:alice@example.com>;tag=a',
  'To: <sip:bob@example.com>',
  'Call-ID: c1@10.0.0.1',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@10.0.0.1>',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function views(m: SipRequest) {
  return { via: m.via, topVia: m.topVia, from: m.from, to: m.to, cseq: m.cseq, contacts: m.contacts, routes: m.routes, recordRoutes: m.recordRoutes };
}
type Views = ReturnType<typeof views>;
const request = () => parseMessage(Buffer.from(text)) as SipRequest;

function expectSame(before: Views, after: Views, except: ReadonlyArray<keyof Views>): void {
  for (const k of Object.keys(before) as Array<keyof Views>) {
    if (except.includes(k)) expect(after[k], k).not.toBe(before[k]);
    else expect(after[k], k).toBe(before[k]);
  }
}

describe('edits re-parse only the edited header', () => {
  it('Max-Forwards (setHeader): no view parsed again', () => {
    const m = request();
    const before = views(m);
    m.setHeader('Max-Forwards', '69');
    expectSame(before, views(m), []);
    expect(m.maxForwards).toBe(69);
  });

  it('a Via inserted in compact form: the Via views only, and the new top is read', () => {
    const m = request();
    const before = views(m);
    m.insertHeader('v', 'SIP/2.0/TCP 192.0.2.9:5060;branch=z9hG4bK-new');
    const after = views(m);
    expectSame(before, after, ['via', 'topVia']);
    expect(after.topVia?.host).toBe('192.0.2.9');
    expect(after.via.map((v) => v.branch)).toEqual(['z9hG4bK-new', 'z9hG4bK-1', 'z9hG4bK-2']);
  });

  it('the top Via removed (a response on its way back)', () => {
    const m = request();
    const before = views(m);
    expect(m.removeHeaderValue('via', 0)).toBe(true);
    expectSame(before, views(m), ['via', 'topVia']);
    expect(m.topVia?.branch).toBe('z9hG4bK-2');
  });

  it('the top Route removed from a comma list, then a Record-Route inserted', () => {
    const m = request();
    const before = views(m);
    m.removeHeaderValue('route', 0);
    expectSame(before, views(m), ['routes']);
    expect(m.routes.map((r) => r.uri)).toEqual(['sip:p2.example.com;lr']);
    const mid = views(m);
    m.insertHeader('Record-Route', '<sip:proxy.example.com;lr>');
    expectSame(mid, views(m), ['recordRoutes']);
    expect(m.recordRoutes.map((r) => r.uri)).toEqual(['sip:proxy.example.com;lr', 'sip:rr.example.com;lr']);
  });

  it('Contact replaced, From set in compact form, To and CSeq set, Record-Route removed', () => {
    const m = request();
    let before = views(m);
    m.replaceHeaderValue('m', 0, '<sip:alice@192.0.2.1>');
    expectSame(before, views(m), ['contacts']);
    expect(m.contacts[0]?.uri).toBe('sip:alice@192.0.2.1');
    before = views(m);
    m.setHeader('f', '<sip:carol@example.com>;tag=c');
    expectSame(before, views(m), ['from']);
    expect(m.from?.tag).toBe('c');
    before = views(m);
    m.setHeader('To', '<sip:bob@example.com>;tag=b');
    expectSame(before, views(m), ['to']);
    expect(m.to?.tag).toBe('b');
    before = views(m);
    m.setHeader('CSeq', '2 INVITE');
    expectSame(before, views(m), ['cseq']);
    expect(m.cseq?.seq).toBe(2);
    before = views(m);
    expect(m.removeHeader('record-route')).toBe(1);
    expectSame(before, views(m), ['recordRoutes']);
    expect(m.recordRoutes).toEqual([]);
    // The bytes say what the views say.
    const out = serializeMessage(m).toString();
    expect(out).toContain('From: <sip:carol@example.com>;tag=c\r\n');
    expect(out).not.toContain('Record-Route');
  });
});
