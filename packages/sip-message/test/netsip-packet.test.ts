// Net::SIP::Packet parsing behaviour (netsip-behaviour.md §6.1–§6.3) that sipway keeps: header
// names by long and compact form in any case, which headers are comma lists and which are not,
// list splitting around quotes, <> and escapes, LF-only input, and the serializer's rules.
import { describe, expect, it } from 'vitest';
import { parseMessage, serializeMessage, validateMessage, type SipMessage } from '../src/index.js';

const base = (extra: string[], eol = '\r\n'): string =>
  [
    'OPTIONS sip:a@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKnetsip',
    'From: <sip:me@example.com>;tag=1',
    'To: <sip:you@example.com>',
    'Call-ID: netsip@example.com',
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join(eol);

const parse = (extra: string[]): SipMessage => parseMessage(base(extra));

describe('Net::SIP §6.1: header names', () => {
  // RFC 3261 §7.3.3 and the IANA compact forms the issue lists (v f t i m l c s k e o r u x y b d a).
  it.each([
    ['i', 'Call-ID', 'x@y'],
    ['m', 'Contact', '<sip:c@example.com>'],
    ['e', 'Content-Encoding', 'gzip'],
    ['c', 'Content-Type', 'text/plain'],
    ['f', 'From', '<sip:f@example.com>;tag=9'],
    ['s', 'Subject', 'hello'],
    ['k', 'Supported', 'timer'],
    ['t', 'To', '<sip:t@example.com>'],
    ['v', 'Via', 'SIP/2.0/TCP h.example.com;branch=z9hG4bKx'],
    ['o', 'Event', 'presence'],
    ['r', 'Refer-To', '<sip:r@example.com>'],
    ['u', 'Allow-Events', 'presence'],
    ['x', 'Session-Expires', '1800'],
    ['y', 'Identity', 'abc'],
    ['b', 'Referred-By', '<sip:b@example.com>'],
    ['d', 'Request-Disposition', 'proxy'],
    ['a', 'Accept-Contact', '*;audio'],
  ])('compact %s is %s', (compact, long, value) => {
    const m = parseMessage(
      `INVITE sip:a@example.com SIP/2.0\r\n${compact}: ${value}\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(m.getHeader(long)).toBe(value);
    expect(m.getHeader(long.toUpperCase())).toBe(value);
    expect(m.getHeader(compact.toUpperCase())).toBe(value);
    expect(m.hasHeader(long.toLowerCase())).toBe(true);
    expect(m.headers[0]?.name).toBe(compact);
  });

  it('accepts a method in any case as an extension method', () => {
    const m = parseMessage('invite sip:a@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n');
    expect(m.isRequest && m.method).toBe('invite');
  });

  it('accepts bare LF line ends and keeps them when unmodified (§6.3)', () => {
    const lf = base(['Subject: lf only'], '\n');
    const m = parseMessage(lf);
    expect(m.getHeader('subject')).toBe('lf only');
    expect(m.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(Buffer.from(serializeMessage(m)).toString('latin1')).toBe(lf);
  });

  it('joins a continuation line to the header above', () => {
    const m = parse(['Subject: hello,', ' world']);
    expect(m.getHeader('subject')).toMatch(/^hello,\s+world$/);
  });
});

describe('Net::SIP §6.1: comma lists', () => {
  const LISTS = [
    'Contact', 'Record-Route', 'Route', 'Allow', 'Supported', 'Unsupported', 'In-Reply-To', 'Accept',
    'Accept-Encoding', 'Accept-Language', 'Proxy-Require', 'Require', 'Content-Encoding', 'Content-Language',
    'Alert-Info', 'Call-Info', 'Error-Info',
  ];
  it.each(LISTS)('%s is split at top-level commas', (name) => {
    const m = parse([`${name}: <sip:one@example.com>, <sip:two@example.com>`]);
    expect(m.getHeaders(name)).toEqual(['<sip:one@example.com>', '<sip:two@example.com>']);
    expect(m.getHeader(name)).toBe('<sip:one@example.com>');
  });

  it('Via is split, and several Via lines add up in order', () => {
    const m = parseMessage(
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2\r\n' +
        'v: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\nContent-Length: 0\r\n\r\n',
    );
    expect(m.via.map((v) => v.host)).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
  });

  it('Warning is split, commas inside its quoted text are not', () => {
    const m = parse(['Warning: 307 isi.edu "Session parameter \'foo\' not understood, sorry", 301 isi.edu "Incompatible network address type"']);
    expect(m.getHeaders('warning')).toEqual([
      '307 isi.edu "Session parameter \'foo\' not understood, sorry"',
      '301 isi.edu "Incompatible network address type"',
    ]);
  });

  it.each(['From', 'To', 'Date', 'Content-Type', 'Subject', 'X-Unknown', 'Authorization', 'WWW-Authenticate'])(
    '%s is not split',
    (name) => {
      const value =
        name === 'Date'
          ? 'Sat, 13 Nov 2010 23:29:00 GMT'
          : name === 'Authorization' || name === 'WWW-Authenticate'
            ? 'Digest realm="example.com", nonce="a,b", algorithm=MD5'
            : name === 'From' || name === 'To'
              ? '"Bell, Alexander" <sip:a.g.bell@example.com>'
              : 'one, two';
      const m = parseMessage(
        `OPTIONS sip:a@example.com SIP/2.0\r\n${name}: ${value}\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(m.getHeaders(name)).toEqual([value]);
      expect(m.getHeader(name)).toBe(value);
    },
  );

  it('does not split inside quotes, <>, or after a backslash escape in quotes', () => {
    const m = parse([
      'Contact: "Doe, John" <sip:j@example.com;x=a,b>;expires=60, "Q \\" ,q" <sip:q@example.com>, <sip:r@example.com?h=1,2>',
    ]);
    expect(m.getHeaders('contact')).toEqual([
      '"Doe, John" <sip:j@example.com;x=a,b>;expires=60',
      '"Q \\" ,q" <sip:q@example.com>',
      '<sip:r@example.com?h=1,2>',
    ]);
    expect(m.contacts.map((c) => c.displayName)).toEqual(['Doe, John', 'Q " ,q', undefined]);
    expect(m.contacts[0]?.expires).toBe(60);
  });

  it('Contact: * is the star contact', () => {
    const m = parse(['Contact: *', 'Expires: 0']);
    expect(m.contacts).toHaveLength(1);
    expect(m.contacts[0]?.star).toBe(true);
  });

  it('two Contact lines and a comma list give the bindings in order (t/23)', () => {
    const m = parse(['Contact: <sip:a@example.com>', 'Contact: <sip:b@example.com>, <sip:c@example.com>;q=0.5']);
    expect(m.contacts.map((c) => [c.uri, c.q])).toEqual([
      ['sip:a@example.com', undefined],
      ['sip:b@example.com', undefined],
      ['sip:c@example.com', 0.5],
    ]);
  });
});

describe('Net::SIP §6.3: serialization', () => {
  it('an unmodified packet is its exact bytes, odd spacing and case included', () => {
    const text = base(['sUbJeCt :   spaced   ', 'X-Odd:no-space']);
    expect(Buffer.from(serializeMessage(parseMessage(text))).toString('latin1')).toBe(text);
  });

  it('setBody keeps Content-Length right', () => {
    const m = parse([]);
    m.setBody('v=0\r\n', 'application/sdp');
    const out = parseMessage(serializeMessage(m));
    expect(out.contentLength).toBe(5);
    expect(Buffer.from(out.body).toString('latin1')).toBe('v=0\r\n');
    expect(out.getHeader('content-type')).toBe('application/sdp');
    expect(out.getHeaders('content-length')).toHaveLength(1);
  });

  it('a modified packet goes out with CRLF line ends even when it came with LF', () => {
    const m = parseMessage(base([], '\n'));
    m.setHeader('Max-Forwards', '69');
    const out = Buffer.from(serializeMessage(m)).toString('latin1');
    expect(out.replace(/\r\n/g, '')).not.toContain('\n');
    expect(parseMessage(out).maxForwards).toBe(69);
  });
});

describe('Net::SIP §6.1: Call-ID and numeric headers', () => {
  const problemsOf = (extra: string[]): string[] => {
    const text = base(extra).replace('Call-ID: netsip@example.com\r\n', '');
    return validateMessage(parseMessage(text)).map((p) => `${p.status} ${p.header ?? ''}`);
  };

  it.each([
    'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{',
    'foobar@example.com[123]',
    'SSG9559905523997077@hlau_4100',
    'a84b4c76e66710',
  ])('accepts Call-ID %s (callid = word ["@" word])', (id) => {
    expect(problemsOf([`Call-ID: ${id}`])).toEqual([]);
  });

  it.each(['two words', 'a@b@c', '', '@b', 'a@', 'caf\u00e9'])('refuses Call-ID %j with 400', (id) => {
    expect(problemsOf([`Call-ID: ${id}`])).toEqual(['400 Call-ID']);
  });

  it.each([
    ['Expires: Thu, 01 Dec 1994 16:00:00 GMT', 'Expires'],
    ['Expires: -1', 'Expires'],
    ['Max-Forwards: 256', 'Max-Forwards'],
    ['Max-Forwards: seventy', 'Max-Forwards'],
  ])('refuses %s with 400', (line, header) => {
    const text = base([line]).replace('Max-Forwards: 70\r\n', line.startsWith('Max') ? '' : 'Max-Forwards: 70\r\n');
    const problems = validateMessage(parseMessage(text));
    expect(problems.map((p) => [p.status, p.header])).toEqual([[400, header]]);
  });
});
