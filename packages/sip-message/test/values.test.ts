import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  isRequest,
  formatUri,
  formatVia,
  isSipUri,
  parseContact,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  sipUriEquals,
  type SipRequest,
  splitHeaderValues,
} from '../src/index.js';
import { INVITE, RESPONSE_200 } from './messages.js';

describe('parseUri (RFC 3261 §19.1)', () => {
  it('parses every part of a SIP URI', () => {
    const u = parseUri('sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
    expect(u).toMatchObject({
      scheme: 'sips',
      user: 'alice',
      password: 'secret',
      host: 'atlanta.example.com',
      hostType: 'hostname',
      port: 5061,
    });
    if (!isSipUri(u)) throw new Error('unreachable');
    expect({ ...u.params }).toEqual({ transport: 'tcp', lr: null, maddr: '239.255.255.1' });
    expect({ ...u.headers }).toEqual({ subject: 'project x', priority: 'urgent' });
  });

  it('decodes %-escapes and keeps ; ? / in the user part', () => {
    expect(parseUri('sip:%61lice@atlanta.com;transport=TCP')).toMatchObject({ user: 'alice', host: 'atlanta.com' });
    expect(parseUri('sip:user;par=u%40example.net@example.com')).toMatchObject({ user: 'user;par=u@example.net', host: 'example.com' });
    expect(parseUri('sip:null-%00-null@example.com')).toMatchObject({ user: 'null-\0-null' });
    expect(() => parseUri('sip:a%4@example.com')).toThrowError(SipParseError);
  });

  it('parses IPv4 and IPv6 references (RFC 5118)', () => {
    expect(parseUri('sip:[2001:db8::10]:5070')).toMatchObject({ host: '2001:db8::10', hostType: 'ipv6', port: 5070 });
    expect(parseUri('sip:[2001:db8::192.0.2.1]')).toMatchObject({ host: '2001:db8::192.0.2.1', hostType: 'ipv6' });
    expect(parseUri('sip:192.0.2.1:5060')).toMatchObject({ hostType: 'ipv4', port: 5060 });
    expect(() => parseUri('sip:[2001:db8::10')).toThrowError(SipParseError);
    expect(() => parseUri('sip:[2001:db8:::10]')).toThrowError(SipParseError);
    expect(() => parseUri('sip:2001:db8::10')).toThrowError(SipParseError);
  });

  it('parses tel and keeps other schemes as text', () => {
    expect(parseUri('tel:+1-201-555-0123;phone-context=example.com')).toMatchObject({ scheme: 'tel', number: '+1-201-555-0123' });
    expect(parseUri('mailto:bob@example.com')).toEqual({ scheme: 'mailto', raw: 'mailto:bob@example.com' });
  });

  it.each(['nocolon', 'sip:', 'sip:host:99999', 'sip:host:5x', 'sip:a b@c', 'sip:@host', '1sip:host'])('refuses %s', (bad) => {
    expect(() => parseUri(bad)).toThrowError(SipParseError);
  });

  it('formats back to an equivalent URI', () => {
    for (const s of ['sip:alice@atlanta.com:5070;transport=tcp;lr', 'sip:[::1]:5060', 'sips:bob@example.com?subject=a%20b']) {
      expect(sipUriEquals(formatUri(parseUri(s)), s)).toBe(true);
    }
    expect(formatUri(parseUri('sip:us%20er@h'))).toBe('sip:us%20er@h');
  });
});

describe('sipUriEquals (RFC 3261 §19.1.4)', () => {
  it.each([
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;newparam=5'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
  ])('%s equals %s', (a, b) => {
    expect(sipUriEquals(a, b)).toBe(true);
  });

  it.each([
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'],
    ['sip:bob@biloxi.com:6000;transport=tcp', 'sip:bob@biloxi.com:6000'],
    ['sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'],
  ])('%s differs from %s', (a, b) => {
    expect(sipUriEquals(a, b)).toBe(false);
  });

  it('treats default ports and transport as equal when asked (own-Route check of a proxy)', () => {
    expect(sipUriEquals('sip:127.0.0.1;lr', 'sip:127.0.0.1:5060;lr', { defaultPorts: true })).toBe(true);
    expect(sipUriEquals('sip:127.0.0.1;transport=udp', 'sip:127.0.0.1:5060', { defaultPorts: true })).toBe(true);
  });
});

describe('name-addr and Contact (RFC 3261 §20.10)', () => {
  it('parses quoted and token display names, URI params and header params', () => {
    expect(parseNameAddr('"Alice \\"A\\"" <sip:alice@a.com;transport=tcp>;tag=88')).toMatchObject({
      displayName: 'Alice "A"',
      uri: 'sip:alice@a.com;transport=tcp',
      tag: '88',
      bracketed: true,
    });
    expect(parseNameAddr('Bob Smith <sip:bob@b.com>')).toMatchObject({ displayName: 'Bob Smith', uri: 'sip:bob@b.com' });
    expect(parseNameAddr('<sip:c@c.com>').displayName).toBeUndefined();
  });

  it('gives params after an addr-spec to the header, not the URI', () => {
    const na = parseNameAddr('sip:alice@a.com;tag=1;x=y');
    expect(na.uri).toBe('sip:alice@a.com');
    expect({ ...na.params }).toEqual({ tag: '1', x: 'y' });
  });

  it('keeps quoted param values as written', () => {
    const c = parseContact('<sip:a@127.0.0.1:16000;transport=udp>;expires=60;+sip.instance="<urn:uuid:1234>"');
    expect(c.params['+sip.instance']).toBe('"<urn:uuid:1234>"');
    expect(c.expires).toBe(60);
  });

  it('parses Contact: * and q values', () => {
    expect(parseContact('*')).toMatchObject({ star: true });
    expect(parseContact('<sip:a@b>;q=0.7')).toMatchObject({ star: false, q: 0.7 });
    expect(() => parseContact('<sip:a@b>;q=1.5')).toThrowError(SipParseError);
    expect(() => parseContact('<sip:a@b>;expires=soon')).toThrowError(SipParseError);
  });

  it.each(['"unterminated <sip:a@b>', '<sip:a@b', 'sip:a@b junk', '', 'Bad"Name <sip:a@b>'])('refuses %s', (bad) => {
    expect(() => parseNameAddr(bad)).toThrowError(SipParseError);
  });

  it('reads From, To, Contact, Route and Record-Route of a message', () => {
    const m = parseMessage(INVITE);
    expect(m.from).toMatchObject({ displayName: 'Alice, A.', tag: '1928301774' });
    expect(m.to?.tag).toBeUndefined();
    expect(m.contacts.map((c) => c.uri)).toEqual(['sip:alice@pc33.atlanta.example.com', 'sip:a2@10.0.0.1:5070;transport=tcp']);
    expect(m.contacts[1]?.q).toBe(0.5);
    expect(m.routes.map((r) => r.uri)).toEqual(['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr']);
    const r = parseMessage(RESPONSE_200);
    expect(r.recordRoutes).toHaveLength(2);
  });
});

describe('Via (RFC 3261 §20.42, RFC 3581)', () => {
  it('parses protocol, sent-by and params', () => {
    const v = parseVia('SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5067;maddr=224.2.0.1;ttl=16');
    expect(v).toMatchObject({
      protocol: 'SIP/2.0',
      transport: 'UDP',
      host: 'pc33.atlanta.com',
      port: 5066,
      sentBy: 'pc33.atlanta.com:5066',
      branch: 'z9hG4bK776asdhds',
      received: '192.0.2.1',
      rport: 5067,
      maddr: '224.2.0.1',
      ttl: 16,
    });
  });

  it('allows whitespace around / and ; (RFC 4475 wsinv) and rport without value', () => {
    const v = parseVia('SIP  /   2.0  /   tcp   [2001:db8::9:1] ; branch=z9hG4bKas3 ; rport');
    expect(v).toMatchObject({ transport: 'TCP', host: '2001:db8::9:1', branch: 'z9hG4bKas3', rport: null });
    expect(v.port).toBeUndefined();
  });

  it('formats with params in order', () => {
    const v = parseVia('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport');
    v.params.received = '127.0.0.1';
    v.params.rport = '5070';
    expect(formatVia(v)).toBe('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=5070;received=127.0.0.1');
  });

  it.each(['SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP host:port', 'SIP/2.0/UDP a b', 'SIP/2.0/UDP h;rport=x', 'SIP/2.0/UDP h;ttl=300'])(
    'refuses %s',
    (bad) => {
      expect(() => parseVia(bad)).toThrowError(SipParseError);
    },
  );

  it('reads all Vias of a response, in order', () => {
    const m = parseMessage(RESPONSE_200);
    expect(m.via.map((v) => v.received)).toEqual(['192.0.2.3', '192.0.2.2', '192.0.2.1']);
    expect(m.topVia?.branch).toBe('z9hG4bKnashds8');
  });
});

describe('splitHeaderValues', () => {
  it('respects quotes, escapes and angle brackets', () => {
    expect(splitHeaderValues('"a,b" <sip:x@y>, <sip:p,q@r>;x="1,2", c')).toEqual(['"a,b" <sip:x@y>', '<sip:p,q@r>;x="1,2"', 'c']);
    expect(splitHeaderValues('"a\\",b" <sip:x>, d')).toEqual(['"a\\",b" <sip:x>', 'd']);
    expect(splitHeaderValues(' , ,a,, ')).toEqual(['a']);
  });
});

describe('CSeq and Max-Forwards', () => {
  it('parses CSeq', () => {
    expect(parseMessage(INVITE).cseq).toEqual({ seq: 314159, method: 'INVITE' });
  });

  it('throws SipParseError on a malformed CSeq or Max-Forwards when read', () => {
    const m = parseMessage('OPTIONS sip:a@b SIP/2.0\r\nCSeq: x OPTIONS\r\nMax-Forwards: -1\r\n\r\n');
    expect(() => m.cseq).toThrowError(SipParseError);
    expect(() => m.maxForwards).toThrowError(SipParseError);
    const big = parseMessage('OPTIONS sip:a@b SIP/2.0\r\nCSeq: 4294967296 OPTIONS\r\n\r\n');
    expect(() => big.cseq).toThrowError(/range/);
  });

  // RFC 3261 §8.1.1.5: expressible as a 32-bit unsigned integer; < 2**31 binds only a UAC's first request.
  it('reads a CSeq number up to 2**32-1, with any number of leading zeros', () => {
    const read = (v: string) => parseMessage(`OPTIONS sip:a@b SIP/2.0\r\nCSeq: ${v}\r\n\r\n`).cseq;
    expect(read('2147483648 OPTIONS')).toEqual({ seq: 2 ** 31, method: 'OPTIONS' });
    expect(read('4294967295 OPTIONS')).toEqual({ seq: 2 ** 32 - 1, method: 'OPTIONS' });
    expect(read('000000000000000000042 INVITE')).toEqual({ seq: 42, method: 'INVITE' });
    expect(read('0000000000004294967295\tFOO')).toEqual({ seq: 2 ** 32 - 1, method: 'FOO' });
    expect(() => read('36893488147419103232 INVITE')).toThrowError(/range/);
    expect(() => read('99999999999999999999999999999999 INVITE')).toThrowError(/range/);
  });

  it('reads Max-Forwards as 1*DIGIT from 0 to 255, leading zeros included', () => {
    const read = (v: string) => parseMessage(`OPTIONS sip:a@b SIP/2.0\r\nMax-Forwards: ${v}\r\n\r\n`).maxForwards;
    expect(read('0000000070')).toBe(70);
    expect(read('000000000000000000000000000000000000000000000000')).toBe(0);
    expect(read('255')).toBe(255);
    expect(read('\r\n 70')).toBe(70);
    for (const bad of ['256', '99999999999999999999', '7 0', '+70', '70.0', '0x46', '']) {
      const error = (() => {
        try {
          read(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(SipParseError.isInstance(error), bad).toBe(true);
      expect((error as SipParseError).status).toBe(400);
    }
  });

  it('reads Expires as delta-seconds, past 2**32-1 as 2**32-1 (RFC 3261 §20.19)', () => {
    const read = (v: string) => parseMessage(`REGISTER sip:a@b SIP/2.0\r\nExpires: ${v}\r\n\r\n`).expires;
    expect(parseMessage('REGISTER sip:a@b SIP/2.0\r\n\r\n').expires).toBeUndefined();
    expect(read('3600')).toBe(3600);
    expect(read('0000000000003600')).toBe(3600);
    expect(read('4294967296')).toBe(2 ** 32 - 1);
    expect(read('99999999999999999999999999')).toBe(2 ** 32 - 1);
    expect(() => read('Thu, 01 Dec 1994 16:00:00 GMT')).toThrowError(SipParseError);
    expect(() => read('-1')).toThrowError(SipParseError);
  });

  it('reads a Contact expires parameter and ports the same way', () => {
    const m = parseMessage(
      'REGISTER sip:a@b:0000005060 SIP/2.0\r\nVia: SIP/2.0/UDP h:005060;rport=0005060;ttl=00001\r\nContact: <sip:a@h:00080>;expires=000000000000000060, <sip:b@h>;expires=999999999999999999\r\n\r\n',
    );
    expect(m.contacts.map((c) => c.expires)).toEqual([60, 2 ** 32 - 1]);
    expect(m.topVia).toMatchObject({ port: 5060, rport: 5060, ttl: 1 });
    expect(isRequest(m) ? (m.requestUri as { port?: number }).port : undefined).toBe(5060);
    expect(() => (parseMessage('OPTIONS sip:a@b:65536 SIP/2.0\r\n\r\n') as SipRequest).requestUri).toThrowError(/range/);
    expect(() => parseMessage('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:0000065536\r\n\r\n').topVia).toThrowError(/range/);
  });
});
