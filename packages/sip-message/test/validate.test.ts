import { describe, expect, it } from 'vitest';
import { createResponse, parseMessage, serializeMessage, validateMessage, type SipRequest } from '../src/index.js';
import { INVITE, crlf } from './messages.js';

const request = (lines: string[]) => parseMessage(crlf([...lines, '', '']));
const BASE = [
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
  'Max-Forwards: 70',
  'To: <sip:bob@example.com>',
  'From: <sip:alice@example.com>;tag=1',
  'Call-ID: c1@192.0.2.1',
  'CSeq: 1 OPTIONS',
  'Content-Length: 0',
];

describe('validateMessage (RFC 3261 §8.2.2, §16.3)', () => {
  it('finds nothing wrong with a good request', () => {
    expect(validateMessage(parseMessage(INVITE))).toEqual([]);
    expect(validateMessage(request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE]))).toEqual([]);
  });

  it.each(['Via', 'To', 'From', 'Call-ID', 'CSeq'])('answers 400 when %s is missing', (name) => {
    const lines = BASE.filter((l) => !l.startsWith(`${name}:`));
    const problems = validateMessage(request(['OPTIONS sip:bob@example.com SIP/2.0', ...lines]));
    expect(problems).toContainEqual(expect.objectContaining({ status: 400, code: 'missing-header', header: name }));
  });

  it.each([
    ['CSeq', 'CSeq: 2 OPTIONS'],
    ['Call-ID', 'Call-ID: other@192.0.2.1'],
    ['Content-Length', 'Content-Length: 0'],
    ['From', 'From: <sip:mallory@example.com>;tag=2'],
    ['To', 'To: <sip:carol@example.com>'],
  ])('refuses a second %s (Net::SIP: conflicting definition)', (name, line) => {
    const problems = validateMessage(request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE, line]));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ status: 400, header: name });
  });

  it('accepts two Contact lines and a Call-ID with brackets (Net::SIP test 23)', () => {
    const m = request([
      'OPTIONS sip:bob@example.com SIP/2.0',
      ...BASE.filter((l) => !l.startsWith('Call-ID')),
      'Call-ID: foobar@example.com[123]',
      'Contact: <sip:a@192.0.2.1>',
      'Contact: <sip:b@192.0.2.1>',
    ]);
    expect(validateMessage(m)).toEqual([]);
  });

  it('refuses a CSeq method that is not the request method', () => {
    const m = request(['INVITE sip:bob@example.com SIP/2.0', ...BASE]);
    expect(validateMessage(m)).toEqual([expect.objectContaining({ status: 400, code: 'cseq-method-mismatch' })]);
  });

  it('answers 505 for another SIP version and 416 for an unknown scheme', () => {
    expect(validateMessage(request(['OPTIONS sip:bob@example.com SIP/7.0', ...BASE]))[0]).toMatchObject({ status: 505 });
    expect(validateMessage(request(['OPTIONS unknownscheme:bob SIP/2.0', ...BASE]))[0]).toMatchObject({ status: 416 });
    expect(validateMessage(request(['OPTIONS tel:+1-555-0100 SIP/2.0', ...BASE]))).toEqual([]);
  });

  it('refuses Max-Forwards out of 0..255 and malformed scalars', () => {
    const mf = (v: string) => validateMessage(request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE.filter((l) => !l.startsWith('Max')), `Max-Forwards: ${v}`]));
    expect(mf('0')).toEqual([]);
    expect(mf('255')).toEqual([]);
    expect(mf('256')[0]).toMatchObject({ status: 400, header: 'Max-Forwards' });
    expect(mf('x')[0]).toMatchObject({ status: 400 });
    const ex = validateMessage(request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE, 'Expires: Thu, 44 Dec 19999 16:00:00 EDT']));
    expect(ex[0]).toMatchObject({ status: 400, header: 'Expires' });
    const ct = validateMessage(request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE, 'Content-Type: application']));
    expect(ct[0]).toMatchObject({ status: 400, header: 'Content-Type' });
  });

  // Issue 9 item 4: `0000000070` passed validation and then threw in the getter.
  it('accepts what the getters read, leading zeros and huge delta-seconds included', () => {
    const req = (extra: string[]) => request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE.filter((l) => !/^(Max|CSeq)/.test(l)), ...extra]);
    const m = req(['Max-Forwards: 0000000070', 'CSeq: 0000000000001 OPTIONS', 'Expires: 000099999999999999999999']);
    expect(validateMessage(m)).toEqual([]);
    expect([m.maxForwards, m.cseq?.seq, m.expires]).toEqual([70, 1, 2 ** 32 - 1]);
    const huge = validateMessage(req(['Max-Forwards: 99999999999999999999', 'CSeq: 1 OPTIONS']));
    expect(huge).toEqual([expect.objectContaining({ status: 400, header: 'Max-Forwards' })]);
    const big = validateMessage(req(['Max-Forwards: 70', 'CSeq: 4294967296 OPTIONS']));
    expect(big).toEqual([expect.objectContaining({ status: 400, header: 'CSeq' })]);
    expect(validateMessage(req(['Max-Forwards: 70', 'CSeq: 4294967295 OPTIONS']))).toEqual([]);
  });

  it('reports malformed From, Via and Request-URI', () => {
    const bad = validateMessage(
      request(['OPTIONS sip:bob@example.com:99999 SIP/2.0', ...BASE.map((l) => (l.startsWith('From') ? 'From: "x <sip:a@b>' : l.startsWith('Via') ? 'Via: SIP/2.0/UDP' : l))]),
    );
    expect(bad.map((p) => p.header ?? p.code)).toEqual(expect.arrayContaining(['From', 'Via', 'bad-request-uri']));
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies Via, From, To, Call-ID, CSeq and adds a To tag', () => {
    const req = parseMessage(INVITE) as SipRequest;
    const res = createResponse(req, 486, undefined, { toTag: 'abc', headers: [['Retry-After', '30']] });
    expect(res.status).toBe(486);
    expect(res.reason).toBe('Busy Here');
    expect(res.getHeaders('via')).toEqual(req.getHeaders('via'));
    expect(res.to?.tag).toBe('abc');
    expect(res.from?.tag).toBe('1928301774');
    expect(res.callId).toBe(req.callId);
    expect(res.cseq).toEqual({ seq: 314159, method: 'INVITE' });
    expect(res.getHeader('retry-after')).toBe('30');
    expect(res.contentLength).toBe(0);
    expect(validateMessage(res)).toEqual([]);
  });

  it('keeps an existing To tag, adds none to 100 and copies Timestamp into 100', () => {
    const req = request(['OPTIONS sip:bob@example.com SIP/2.0', ...BASE.map((l) => (l.startsWith('To') ? 'To: <sip:bob@example.com>;tag=x' : l)), 'Timestamp: 54']) as SipRequest;
    expect(createResponse(req, 200, 'OK', { toTag: 'y' }).to?.tag).toBe('x');
    const trying = createResponse(parseMessage(INVITE) as SipRequest, 100, undefined, { toTag: 'y' });
    expect(trying.to?.tag).toBeUndefined();
    expect(createResponse(req, 100).getHeader('timestamp')).toBe('54');
  });

  it('serializes to a message that parses again', () => {
    const res = createResponse(parseMessage(INVITE) as SipRequest, 200, 'OK', { body: 'v=0\r\n', contentType: 'application/sdp' });
    const again = parseMessage(serializeMessage(res));
    expect(Buffer.from(again.body).toString()).toBe('v=0\r\n');
    expect(again.getHeader('content-type')).toBe('application/sdp');
  });
});
