// The parser cases of Net::SIP's t/23_valid_message.t (netsip-behaviour.md §9 and §6.1), run
// through parseMessage + validateMessage. Net::SIP writes them with bare LF line ends, no Via
// and no Max-Forwards; each case also runs in CRLF form with a Via, so the outcome does not hang
// on LF tolerance or on the missing Via.
import { describe, expect, it } from 'vitest';
import { SipParseError, parseMessage, serializeMessage, validateMessage, type SipProblem } from '../src/index.js';

const START = 'INVITE sip:foo@bar.com SIP/2.0';
const BASE = ['From: <sip:me@example.com>', 'To: <sip:you@example.com>', 'Call-Id: foobar@example.com'];

interface Case {
  name: string;
  lines: string[];
  /** undefined: valid; otherwise the problem code and header a proxy reports (400). */
  problem?: { code: string; header?: string; message: RegExp };
}

const CASES: Case[] = [
  { name: 'a valid INVITE', lines: [...BASE, 'Cseq: 10 INVITE', 'Content-length: 0'] },
  {
    name: 'CSeq method differs from the request method',
    lines: [...BASE, 'Cseq: 10 BYE', 'Content-length: 0'],
    problem: { code: 'cseq-method-mismatch', header: 'CSeq', message: /method in cseq does not match method of request/i },
  },
  {
    name: 'two CSeq with different values',
    lines: [...BASE, 'Cseq: 10 INVITE', 'Cseq: 20 INVITE', 'Content-length: 0'],
    problem: { code: 'conflicting-header', header: 'CSeq', message: /conflicting definition of cseq/i },
  },
  {
    name: 'two Call-ID with different values',
    lines: [...BASE, 'Cseq: 20 INVITE', 'Call-Id: barfoot@example.com', 'Content-length: 0'],
    problem: { code: 'conflicting-header', header: 'Call-ID', message: /conflicting definition of call-id/i },
  },
  {
    name: 'two Content-Length with different values',
    lines: [...BASE, 'Cseq: 20 INVITE', 'Content-length: 0', 'Content-length: 10'],
    problem: { code: 'conflicting-header', header: 'Content-Length', message: /conflicting definition of content-length/i },
  },
  {
    name: 'two From with different values',
    lines: [...BASE, 'Cseq: 20 INVITE', 'Content-length: 0', 'From: <sip:foo@example.com>'],
    problem: { code: 'conflicting-header', header: 'From', message: /conflicting definition of from/i },
  },
  {
    name: 'two To with different values',
    lines: [...BASE, 'Cseq: 20 INVITE', 'Content-length: 0', 'To: <sip:foo@example.com>'],
    problem: { code: 'conflicting-header', header: 'To', message: /conflicting definition of to/i },
  },
  {
    name: 'two Contact lines',
    lines: [...BASE, 'Cseq: 20 INVITE', 'Content-length: 0', 'Contact: <sip:foo@example.com>', 'Contact: <sip:bar@example.com>'],
  },
  {
    name: 'a Call-ID with brackets in its word',
    lines: ['From: <sip:me@example.com>', 'To: <sip:you@example.com>', 'Call-Id: foobar@example.com[123]', 'Cseq: 10 INVITE', 'Content-length: 0'],
  },
];

const VIA = 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK23valid';
const netsipForm = (c: Case): string => `${[START, ...c.lines].join('\n')}\n\n`;
const crlfForm = (c: Case): string => `${[START, VIA, ...c.lines].join('\r\n')}\r\n\r\n`;
/** Net::SIP does not require a Via; RFC 3261 §8.1.1 does, so that one problem is set aside. */
const withoutMissingVia = (ps: SipProblem[]): SipProblem[] => ps.filter((p) => !(p.code === 'missing-header' && p.header === 'Via'));

describe('Net::SIP t/23 valid_message cases', () => {
  for (const [form, build] of [
    ['Net::SIP form (LF, no Via)', netsipForm],
    ['CRLF form with a Via', crlfForm],
  ] as const) {
    describe(form, () => {
      it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
        const bytes = build(c);
        let m;
        try {
          m = parseMessage(bytes);
        } catch (error) {
          // Two different Content-Length values leave the framing unknown: the parser may refuse.
          expect(SipParseError.isInstance(error)).toBe(true);
          expect(c.problem?.code).toBe('conflicting-header');
          expect(c.problem?.header).toBe('Content-Length');
          expect((error as SipParseError).status).toBe(400);
          expect((error as Error).message).toMatch(/conflicting/i);
          return;
        }
        expect(Buffer.from(serializeMessage(m)).toString('latin1')).toBe(bytes);
        const problems = withoutMissingVia(validateMessage(m));
        if (c.problem === undefined) {
          expect(problems).toEqual([]);
          return;
        }
        expect(problems).toHaveLength(1);
        const p = problems[0]!;
        expect(p.status).toBe(400);
        expect(p.code).toBe(c.problem.code);
        expect(p.header).toBe(c.problem.header);
        expect(p.message).toMatch(c.problem.message);
      });
    });
  }

  it('two Contact lines give both bindings, in order', () => {
    const m = parseMessage(crlfForm(CASES[7]!));
    expect(m.contacts.map((c) => c.uri)).toEqual(['sip:foo@example.com', 'sip:bar@example.com']);
  });

  it('keeps the Call-ID with brackets as written', () => {
    expect(parseMessage(crlfForm(CASES[8]!)).callId).toBe('foobar@example.com[123]');
  });

  it('an exact duplicate of a single-value header is still a 400 for a proxy (issue 2: duplicated To/From/Call-ID/CSeq)', () => {
    const c: Case = { name: 'dup', lines: [...BASE, 'Cseq: 10 INVITE', 'Cseq: 10 INVITE', 'Content-length: 0'] };
    const problems = validateMessage(parseMessage(crlfForm(c)));
    expect(problems.map((p) => [p.status, p.code, p.header])).toEqual([[400, 'duplicated-header', 'CSeq']]);
  });

  it('refuses CRLFCRLF followed by 12 NULs ("empty packet") with a SipParseError', () => {
    const bytes = Buffer.concat([Buffer.from('\r\n\r\n'), Buffer.alloc(12)]);
    let error: unknown;
    try {
      parseMessage(bytes);
    } catch (e) {
      error = e;
    }
    expect(SipParseError.isInstance(error)).toBe(true);
    expect((error as SipParseError).status).toBe(400);
  });

  it('a status line without the SP before an empty reason: refused, or read as status 200 with no reason', () => {
    // Net::SIP refuses `SIP/2.0 200` (§6.1); RFC 4475 §3.1.1.13 lets a liberal receiver accept it.
    let m;
    try {
      m = parseMessage('SIP/2.0 200\r\nContent-Length: 0\r\n\r\n');
    } catch (error) {
      expect(SipParseError.isInstance(error)).toBe(true);
      return;
    }
    expect(m.isRequest).toBe(false);
    if (m.isRequest) return;
    expect([m.status, m.reason]).toEqual([200, '']);
  });
});
