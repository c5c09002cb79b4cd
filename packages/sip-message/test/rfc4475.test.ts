// RFC 4475 (SIP torture test messages), every message of §3, byte for byte from the RFC text:
// the valid ones parse, expose the right values and serialize back to their own bytes; the
// invalid ones are refused by parseMessage or by validateMessage with the status the RFC names.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  SipRequest,
  SipResponse,
  isRequest,
  parseMessage,
  parseUri,
  serializeMessage,
  sipUriEquals,
  validateMessage,
  type SipMessage,
  type SipProblem,
  type SipUri,
} from '../src/index.js';

interface Expect {
  method?: string;
  status?: number;
  reason?: string;
  uri?: string;
  callId: string;
  cseq: [number, string];
  viaCount: number;
  topBranch: string | null;
  contentLength: number | null;
  maxForwards?: number | null;
  contactCount?: number;
  bodyLength: number;
  headerFields: number;
  serializedLength: number;
  validateStatus?: number[];
}
interface Entry {
  section: string;
  title: string;
  valid: boolean;
  bytes: number;
  expect?: Expect;
  status?: number[];
  refusedBy?: 'parse' | 'validate';
  note?: string;
  flags?: string[];
}

const dir = new URL('./fixtures/rfc4475/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
  messages: Record<string, Entry>;
};
const load = (name: string): Buffer => readFileSync(new URL(`${name}.dat`, dir));
const entries = Object.entries(manifest.messages);
const valid = entries.filter(([, e]) => e.valid);
const invalid = entries.filter(([, e]) => !e.valid);
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** What happens to the bytes: a parse error, or the message and its validation problems. */
function outcome(bytes: Uint8Array): { error: unknown; message?: SipMessage; problems: SipProblem[] } {
  let message: SipMessage;
  try {
    message = parseMessage(bytes);
  } catch (error) {
    return { error, problems: [] };
  }
  return { error: undefined, message, problems: validateMessage(message) };
}

describe('RFC 4475 fixtures', () => {
  it('has all 49 messages of RFC 4475 §3, each of the recorded size', () => {
    expect(entries).toHaveLength(49);
    expect(valid.length + invalid.length).toBe(49);
    for (const [name, e] of entries) expect(load(name).length, name).toBe(e.bytes);
  });

  it('keeps the octets the notation stands for (CRLF, <hex>, NUL, UTF-8)', () => {
    const intmeth = load('intmeth');
    expect(intmeth.includes(Buffer.from('"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f"', 'latin1'))).toBe(true);
    expect(intmeth.includes(Buffer.from('\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439', 'utf8'))).toBe(true);
    expect(load('wsinv').toString('latin1').split('\r\n')).toHaveLength(38);
    expect(load('wsinv').toString('latin1').replace(/\r\n/g, '')).not.toContain('\n');
    expect(load('noreason').subarray(0, 14).toString('latin1')).toBe('SIP/2.0 100 \r\n');
  });
});

describe('RFC 4475 valid messages: parse, values, round trip', () => {
  it.each(valid)('%s parses with the right values', (name, e) => {
    const x = e.expect!;
    const m = parseMessage(load(name));
    if (x.method !== undefined) {
      expect(m).toBeInstanceOf(SipRequest);
      if (!isRequest(m)) return;
      expect(m.method).toBe(x.method);
      expect(m.uri).toBe(x.uri);
      expect(m.version).toBe('SIP/2.0');
    } else {
      expect(m).toBeInstanceOf(SipResponse);
      if (m.isRequest) return;
      expect(m.status).toBe(x.status);
      if (x.reason !== undefined) expect(m.reason).toBe(x.reason);
    }
    expect(m.callId).toBe(x.callId);
    expect(m.cseq).toEqual({ seq: x.cseq[0], method: x.cseq[1] });
    expect(m.via).toHaveLength(x.viaCount);
    expect(m.getHeaders('via')).toHaveLength(x.viaCount);
    expect(m.topVia?.branch ?? null).toBe(x.topBranch);
    expect(m.contentLength ?? null).toBe(x.contentLength);
    if (x.maxForwards !== undefined) expect(m.maxForwards ?? null).toBe(x.maxForwards);
    if (x.contactCount !== undefined) expect(m.contacts).toHaveLength(x.contactCount);
    expect(m.body.length).toBe(x.bodyLength);
    expect(m.headers).toHaveLength(x.headerFields);
    expect(m.modified).toBe(false);
  });

  it.each(valid)('%s is clean for validateMessage', (name, e) => {
    const problems = validateMessage(parseMessage(load(name)));
    const allowed = e.expect!.validateStatus ?? [];
    expect(problems.filter((p) => !allowed.includes(p.status))).toEqual([]);
  });

  it.each(valid)('%s serializes unmodified to its own bytes and parses again the same', (name, e) => {
    const input = load(name);
    const m = parseMessage(input);
    const out = serializeMessage(m);
    expect(Buffer.from(out).equals(input.subarray(0, e.expect!.serializedLength))).toBe(true);
    const again = parseMessage(out);
    expect(again.headers).toEqual(m.headers);
    expect(Buffer.from(again.body).equals(Buffer.from(m.body))).toBe(true);
    expect(Buffer.from(serializeMessage(again)).equals(Buffer.from(out))).toBe(true);
  });
});

describe('RFC 4475 valid messages: details the RFC calls out', () => {
  it('wsinv: folding, escaped quotes, empty Subject, mixed compact forms, unknown headers kept', () => {
    const m = parseMessage(load('wsinv'));
    expect(m.to?.tag).toBe('1918181833n');
    expect(m.from?.tag).toBe('98asjd8');
    expect(m.from?.displayName).toBe('J Rosenberg \\"');
    expect(m.via.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.getHeader('subject')).toBe('');
    expect(m.hasHeader('s')).toBe(true);
    expect(m.getHeader('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    expect(m.getHeader('newfangledheader')).toMatch(/^newfangled value\s+continued newfangled value$/);
    expect(m.routes.map((r) => r.uri)).toEqual(['sip:services.example.com;lr;unknownwith=value;unknown-no-value']);
    const contact = m.contacts[0];
    expect(contact?.displayName).toBe('Quoted string ""');
    expect(contact?.q).toBe(0.33);
    expect(contact?.params).toMatchObject({ newparam: 'newvalue', secondparam: null });
    const ruri = (m as SipRequest).requestUri as SipUri;
    expect(ruri.params).toEqual({ unknownparam: null });
  });

  it('intmeth: token characters in method, URI user and password, branch, tag', () => {
    const m = parseMessage(load('intmeth')) as SipRequest;
    const ruri = m.requestUri as SipUri;
    expect(ruri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(ruri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(ruri.host).toBe('example.com');
    expect(m.from?.tag).toBe("_token~1'+`*%!-.");
    expect(m.from?.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.headers.map((h) => h.name)).toContain("extensionHeader-!.%*+_`'~");
  });

  it('esc01: %-escapes decoded in user parts, never twice', () => {
    const m = parseMessage(load('esc01')) as SipRequest;
    expect((m.requestUri as SipUri).user).toBe('sips:user@example.com');
    expect((parseUri(m.to!.uri) as SipUri).user).toBe('user');
    expect((parseUri(m.from!.uri) as SipUri).user).toBe('I have spaces');
    const contact = parseUri(m.contacts[0]!.uri) as SipUri;
    expect(contact.user).toBe('caller');
    expect(contact.params).toEqual({ lr: null, name: 'value%41' });
  });

  it('esc01: an escaped and an unescaped URI are the same URI (RFC 3261 §19.1.4)', () => {
    const m = parseMessage(load('esc01'));
    expect(sipUriEquals(m.to!.uri, 'sip:user@example.com')).toBe(true);
    expect(sipUriEquals(m.contacts[0]!.uri, 'sip:caller@host5.example.net;lr;name=value%2541')).toBe(true);
    // Unescaping is never recursive: value%41 is not valueA.
    expect(sipUriEquals(m.contacts[0]!.uri, 'sip:caller@host5.example.net;lr;name=valueA')).toBe(false);
  });

  it('escnull: the two Contacts are distinct bindings, neither equal to a user cut at the NUL', () => {
    const [a, b] = parseMessage(load('escnull')).contacts;
    expect(sipUriEquals(a!.uri, b!.uri)).toBe(false);
    expect(sipUriEquals(a!.uri, 'sip:@host5.example.com')).toBe(false);
    expect(sipUriEquals(a!.uri, 'sip:%00@HOST5.example.com')).toBe(true);
  });

  it('escnull: %00 in user parts does not cut them short', () => {
    const m = parseMessage(load('escnull'));
    expect((parseUri(m.to!.uri) as SipUri).user).toBe('null-\u0000-null');
    expect(m.contacts.map((c) => (parseUri(c.uri) as SipUri).user)).toEqual(['\u0000', '\u0000\u0000']);
  });

  it('esc02: % is no escape in method, display name, branch or header name', () => {
    const m = parseMessage(load('esc02'));
    expect(m.to?.displayName).toBe('%Z%45');
    expect(m.getHeaders('contact')).toHaveLength(2);
    expect(m.getHeader('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('lwsdisp: display name glued to <', () => {
    expect(parseMessage(load('lwsdisp')).from?.displayName).toBe('caller');
  });

  it('longreq: 34 Vias in every spelling, long parameters', () => {
    const m = parseMessage(load('longreq'));
    expect(m.via[0]?.host).toBe('sip33.example.com');
    expect(m.via[33]?.received).toBe('192.0.2.5');
    expect(m.via[33]?.branch).toBe(`very${'long'.repeat(50)}branchvalue`);
    expect(m.to?.displayName).toBe(`I have a user name of ${'extreme'.repeat(10)} proportion`);
    expect((parseUri(m.to!.uri) as SipUri).port).toBe(6000);
    expect(m.from?.tag).toBe(`1${'298'.repeat(50)}2424`);
  });

  it('dblreq: the octets after Content-Length are not part of the message', () => {
    const input = load('dblreq');
    const m = parseMessage(input);
    expect(m.body.length).toBe(0);
    expect(text(serializeMessage(m))).not.toContain('INVITE');
  });

  it('dblreq: a proxy forwarding the REGISTER does not forward the INVITE octets', () => {
    const m = parseMessage(load('dblreq'));
    m.insertHeader('Via', 'SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKfwd');
    m.setHeader('Max-Forwards', '7');
    const out = text(serializeMessage(m));
    expect(out).not.toContain('INVITE');
    expect(out.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
    expect(parseMessage(out).via).toHaveLength(2);
  });

  it('inv2543: forwarded, it keeps its whole body and gains the Content-Length a stream needs', () => {
    const m = parseMessage(load('inv2543'));
    m.insertHeader('Via', 'SIP/2.0/TCP 192.0.2.200;branch=z9hG4bKfwd');
    const out = parseMessage(serializeMessage(m));
    expect(out.contentLength).toBe(105);
    expect(Buffer.from(out.body).equals(Buffer.from(m.body))).toBe(true);
  });

  it('semiuri: the user part keeps its ;par= and its escaped @', () => {
    const ruri = (parseMessage(load('semiuri')) as SipRequest).requestUri as SipUri;
    expect(ruri.user).toBe('user;par=u@example.net');
    expect(ruri.host).toBe('example.com');
    expect(ruri.params).toEqual({});
    expect(parseMessage(load('semiuri')).getHeaders('accept')).toHaveLength(6);
  });

  it('transports: known and unknown transports', () => {
    const m = parseMessage(load('transports'));
    expect(m.via.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  it('mpart01: a binary body with NULs is framed by Content-Length', () => {
    const m = parseMessage(load('mpart01'));
    expect(m.body.length).toBe(553);
    expect(m.body.includes(0)).toBe(true);
    expect(text(m.body).endsWith('--7a9cbec02ceef655--\r\n')).toBe(true);
    expect(m.topVia?.rport).toBeNull();
    expect(m.topVia?.port).toBe(5070);
  });

  it('unreason: a UTF-8 reason phrase', () => {
    const m = parseMessage(load('unreason')) as SipResponse;
    expect(m.reason).toBe(
      '= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435',
    );
  });

  it('cparam01 / cparam02: where the unknown parameter belongs', () => {
    const one = parseMessage(load('cparam01')).contacts[0]!;
    expect(one.params).toHaveProperty('unknownparam');
    expect((parseUri(one.uri) as SipUri).params).toEqual({});
    const two = parseMessage(load('cparam02')).contacts[0]!;
    expect(two.params).toEqual({});
    expect((parseUri(two.uri) as SipUri).params).toEqual({ unknownparam: null });
  });

  it('regescrt: an escaped Route header inside a Contact URI', () => {
    const c = parseUri(parseMessage(load('regescrt')).contacts[0]!.uri) as SipUri;
    expect(c.headers).toEqual({ Route: '<sip:sip.example.com>' });
  });

  it('unksm2: unknown URI schemes in To, From and Contact parse as absolute URIs', () => {
    const m = parseMessage(load('unksm2'));
    expect(m.to?.uri).toBe('isbn:2983792873');
    expect(m.from?.uri).toBe('http://www.example.com');
    expect(parseUri(m.contacts[0]!.uri).scheme).toBe('name');
  });

  it('bext01: Require and Proxy-Require are lists', () => {
    const m = parseMessage(load('bext01'));
    expect(m.getHeaders('proxy-require')).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
    expect(m.getHeaders('require')).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
  });

  it('bcast: a broadcast sent-by in the second Via', () => {
    expect(parseMessage(load('bcast')).via[1]?.host).toBe('255.255.255.255');
  });

  it('zeromf: Max-Forwards 0 is a value, not an absence', () => {
    expect(parseMessage(load('zeromf')).maxForwards).toBe(0);
  });

  it('inv2543: no Content-Length over a datagram, so the body is the rest', () => {
    const m = parseMessage(load('inv2543'));
    expect(text(m.body).endsWith('m=audio 49217 RTP/AVP 0\r\n')).toBe(true);
    expect(m.from?.tag).toBeUndefined();
  });

  it('novelsc: an atypical Request-URI scheme is at most a 416', () => {
    const problems = validateMessage(parseMessage(load('novelsc')));
    expect(problems.map((p) => p.status)).toEqual([416]);
  });
});

describe('RFC 4475 invalid messages: refused with the RFC status', () => {
  it.each(invalid)('%s is refused', (name, e) => {
    const { error, message, problems } = outcome(load(name));
    const statuses = e.status!;
    if (error !== undefined) {
      expect(SipParseError.isInstance(error), `${name}: ${String(error)}`).toBe(true);
      expect(e.refusedBy, `${name} was refused by parseMessage: ${(error as Error).message}`).toBe('parse');
      expect(statuses).toContain((error as SipParseError).status);
      // The error names what is wrong (a header, or the words the manifest gives).
      for (const flag of e.flags ?? []) {
        const words = flag.replace(/^(parse|code):/, '').replace(/-/g, ' ');
        expect((error as Error).message.toLowerCase().replace(/-/g, ' '), `${name}: ${flag}`).toContain(words.toLowerCase());
      }
      return;
    }
    expect(e.refusedBy, `${name} was accepted by parseMessage`).toBe('validate');
    expect(message).toBeDefined();
    expect(problems.length, `${name}: validateMessage found nothing`).toBeGreaterThan(0);
    expect(statuses, JSON.stringify(problems)).toContain(problems[0]!.status);
    // Refused for the reason the RFC gives, not for some other one.
    for (const flag of e.flags ?? []) {
      const hit = flag.startsWith('code:')
        ? problems.some((p) => p.code === flag.slice(5))
        : problems.some((p) => p.header?.toLowerCase() === flag.toLowerCase());
      expect(hit, `${name} should name ${flag}: ${JSON.stringify(problems)}`).toBe(true);
    }
  });

  it('badvers answers 505, not 400', () => {
    const { error, problems } = outcome(load('badvers'));
    const status = error !== undefined ? (error as SipParseError).status : problems[0]?.status;
    expect(status).toBe(505);
  });

  it('insuf names every missing header', () => {
    const { problems } = outcome(load('insuf'));
    expect(problems.filter((p) => p.code === 'missing-header').map((p) => p.header?.toLowerCase()).sort()).toEqual(
      ['call-id', 'from', 'to'],
    );
  });

  it('multi01 reports each conflicting header', () => {
    const { problems } = outcome(load('multi01'));
    const headers = problems.map((p) => p.header?.toLowerCase());
    for (const h of ['cseq', 'call-id', 'to', 'from', 'max-forwards']) expect(headers).toContain(h);
  });

  it('unkscm answers 416 Unsupported URI Scheme', () => {
    const { problems } = outcome(load('unkscm'));
    expect(problems.map((p) => [p.status, p.reason])).toEqual([[416, 'Unsupported URI Scheme']]);
  });

  it('mismatch01 is refused for the CSeq method only', () => {
    const { problems } = outcome(load('mismatch01'));
    expect(problems.map((p) => p.code)).toEqual(['cseq-method-mismatch']);
  });
});
