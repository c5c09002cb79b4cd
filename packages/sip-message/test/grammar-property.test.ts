// Property test over the RFC 3261 §25.1 grammar (issue 9 item 4): validation and the typed getters
// agree. Messages are generated header by header from the grammar (leading zeros, huge numbers,
// LWS and folding, compact forms, odd but legal URIs and parameters) together with a model of
// what each header means. Then:
//   - validateMessage accepts  => every getter a proxy or registrar reads returns, without
//     throwing, the value the model says;
//   - validateMessage refuses  => each problem carries a 4xx/5xx status the element can answer
//     (400, 416, 505), and the model knew the message was bad.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamFramer, isRequest, isSipUri, parseMessage, serializeMessage, validateMessage, type SipMessage, type SipUri } from '../src/index.js';

const RUNS = Number(process.env.GRAMMAR_RUNS ?? 1000);
const MAX_DELTA = 2 ** 32 - 1;

/** A generated header value and what it means. */
interface Gen<T> {
  text: string;
  value: T;
  /** False when RFC 3261 makes the value an error the element answers with 400. */
  ok: boolean;
}

const DIGIT = fc.constantFrom(...'0123456789'.split(''));
const ALPHA = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));
const TOKEN_CHAR = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~'.split(''));
const token = fc.array(TOKEN_CHAR, { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
const alnumToken = fc.array(fc.oneof(ALPHA, DIGIT), { minLength: 1, maxLength: 10 }).map((a) => a.join(''));

/** SWS/LWS pieces: nothing, spaces/tabs, or a fold (CRLF then whitespace, RFC 3261 §7.3.1). */
const lws = fc.constantFrom(' ', '  ', '\t', ' \t ', '\r\n ', '\r\n\t', ' \r\n  ');
const sws = fc.oneof(fc.constant(''), lws);

/** `1*DIGIT` with its exact value as a bigint: leading zeros, small, near the limits, huge. */
const number = fc
  .tuple(
    fc.nat({ max: 30 }).chain((n) => fc.constant('0'.repeat(n))),
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }).map(String) },
      { weight: 2, arbitrary: fc.constantFrom('255', '256', '2147483647', '2147483648', '4294967295', '4294967296', '99999999999999999999', '36893488147419103232') },
      { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String) },
      { weight: 1, arbitrary: fc.array(DIGIT, { minLength: 1, maxLength: 60 }).map((a) => a.join('')) },
    ),
  )
  .map(([zeros, digits]) => ({ text: zeros + digits, value: BigInt(zeros + digits) }));

/** Max-Forwards = 1*DIGIT, 0..255 (§20.22); beyond that, or not digits, is a 400. */
const maxForwards: fc.Arbitrary<Gen<number | undefined>> = fc.oneof(
  { weight: 5, arbitrary: number.map((n) => ({ text: n.text, value: n.value <= 255n ? Number(n.value) : undefined, ok: n.value <= 255n })) },
  { weight: 1, arbitrary: fc.constantFrom('+70', '-1', '7 0', '70.', '0x46', 'seventy').map((t) => ({ text: t, value: undefined, ok: false })) },
);

const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'MESSAGE', 'INFO', 'UPDATE'];

/** CSeq = 1*DIGIT LWS Method (§20.16), the number at most 2**32-1 (§8.1.1.5). */
const cseqNumber = number.map((n) => ({ text: n.text, value: n.value <= BigInt(MAX_DELTA) ? Number(n.value) : undefined, ok: n.value <= BigInt(MAX_DELTA) }));

/** Expires = delta-seconds (§20.19); past 2**32-1 it counts as 2**32-1. */
const expires: fc.Arbitrary<Gen<number | undefined>> = fc.oneof(
  { weight: 5, arbitrary: number.map((n) => ({ text: n.text, value: n.value > BigInt(MAX_DELTA) ? MAX_DELTA : Number(n.value), ok: true })) },
  { weight: 1, arbitrary: fc.constantFrom('Thu, 01 Dec 1994 16:00:00 GMT', '-5', '3600s', '1.5').map((t) => ({ text: t, value: undefined, ok: false })) },
);

// ---- URIs (§19.1, §25.1): odd but legal ones ----
const unreserved = fc.constantFrom(...'abcXYZ019-_.!~*\'()'.split(''));
const userUnreserved = fc.constantFrom('&', '=', '+', '$', ',', ';', '?', '/');
const escaped = fc.constantFrom('%41', '%20', '%2c', '%3B', '%40', '%25');
const user = fc.array(fc.oneof({ weight: 6, arbitrary: unreserved }, { weight: 1, arbitrary: userUnreserved }, { weight: 1, arbitrary: escaped }), { minLength: 1, maxLength: 10 }).map((a) => a.join(''));
const password = fc.array(fc.oneof(unreserved, escaped, fc.constantFrom('&', '=', '+', '$', ',')), { maxLength: 6 }).map((a) => a.join(''));
const label = fc
  .tuple(fc.oneof(ALPHA, DIGIT), fc.array(fc.oneof(ALPHA, DIGIT, fc.constant('-')), { maxLength: 6 }), fc.oneof(ALPHA, DIGIT))
  .map(([a, m, z]) => a + m.join('') + z);
const hostname = fc
  .tuple(fc.array(label, { minLength: 0, maxLength: 3 }), fc.tuple(ALPHA, fc.array(fc.oneof(ALPHA, DIGIT), { maxLength: 5 })), fc.boolean())
  .map(([labels, [a, rest], dot]) => [...labels, a + rest.join('')].join('.') + (dot ? '.' : ''));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.constantFrom('[::1]', '[2001:db8::10]', '[2001:DB8:0:0:0:0:0:1]', '[::ffff:192.0.2.1]', '[fe80::1]', '[2001:db8::192.0.2.128]');
const host = fc.oneof(hostname, ipv4, ipv6);
/** port = 1*DIGIT: leading zeros legal, value at most 65535. */
const port = fc.tuple(fc.nat({ max: 6 }), fc.integer({ min: 0, max: 65535 })).map(([z, p]) => '0'.repeat(z) + String(p));
// paramchar = param-unreserved / unreserved / escaped (a token's `%` and "`" are not paramchars).
const uriToken = fc.array(fc.oneof(ALPHA, DIGIT, fc.constantFrom('-', '_', '.', '!', '~', '*', "'", '+')), { minLength: 1, maxLength: 10 }).map((a) => a.join(''));
const paramValue = fc.oneof(uriToken, fc.constantFrom('%41b', 'a%20b', 'x[y]', 'a/b', 'a:b'));
const uriParam = fc.oneof(
  fc.constantFrom(';lr', ';transport=udp', ';transport=TCP', ';transport=tls', ';transport=ws', ';user=phone', ';method=INVITE', ';ttl=0001', ';maddr=239.255.255.1', ';maddr=[::1]', ';ob'),
  fc.tuple(alnumToken, fc.option(paramValue, { nil: undefined })).map(([n, v]) => `;${n}${v === undefined ? '' : `=${v}`}`),
);
const sipUri = fc
  .record({
    scheme: fc.constantFrom('sip', 'sips', 'SIP', 'Sip'),
    userinfo: fc.option(fc.tuple(user, fc.option(password, { nil: undefined })), { nil: undefined }),
    host,
    port: fc.option(port, { nil: undefined }),
    params: fc.array(uriParam, { maxLength: 4 }),
  })
  .map((u) => {
    const ui = u.userinfo === undefined ? '' : `${u.userinfo[0]}${u.userinfo[1] === undefined ? '' : `:${u.userinfo[1]}`}@`;
    return `${u.scheme}:${ui}${u.host}${u.port === undefined ? '' : `:${u.port}`}${u.params.join('')}`;
  });
const telUri = fc.tuple(fc.array(fc.oneof(DIGIT, fc.constantFrom('-', '.', '(', ')')), { minLength: 1, maxLength: 12 }), fc.boolean()).map(([d, plus]) => `tel:${plus ? '+' : ''}1${d.join('')}`);
const uriHeaders = fc.array(fc.tuple(alnumToken, fc.oneof(alnumToken, fc.constantFrom('a%20b', 'sip:x%40y'))), { minLength: 1, maxLength: 2 }).map((hs) => `?${hs.map(([n, v]) => `${n}=${v}`).join('&')}`);

// ---- name-addr (§20.10, §25.1) ----
const quotedString = fc.array(fc.oneof(fc.constantFrom(...'abc XYZ,;:<>@'.split('')), fc.constantFrom('\\"', '\\\\')), { maxLength: 10 }).map((a) => `"${a.join('')}"`);
const displayName = fc.oneof(quotedString, fc.array(token, { minLength: 1, maxLength: 3 }).map((a) => a.join(' ')));
// (`q` and `expires` have their own rules in a Contact, c-p-q and c-p-expires: not generic.)
const genericParam = fc.tuple(token.filter((t) => !/^(q|expires)$/i.test(t)), fc.option(fc.oneof(token, quotedString, ipv6), { nil: undefined })).map(([n, v]) => `${n}${v === undefined ? '' : `=${v}`}`);
const paramsAfter = (extra: fc.Arbitrary<string>) =>
  fc.array(fc.tuple(sws, sws, fc.oneof(extra, genericParam)), { maxLength: 3 }).map((ps) => ps.map(([a, b, p]) => `${a};${b}${p}`).join(''));

/**
 * A name-addr or addr-spec. RFC 3261 §20.10: a URI with `,` `;` or `?` must be bracketed (in an
 * addr-spec, what follows `;` is a header parameter).
 */
const nameAddr = (uri: fc.Arbitrary<string>, extra: fc.Arbitrary<string>) =>
  fc.tuple(fc.option(displayName, { nil: undefined }), uri, fc.boolean(), sws, paramsAfter(extra)).map(([dn, u, bracket, gap, params]) => {
    const bare = dn === undefined && !bracket && !/[,;?]/.test(u);
    return `${bare ? u : `${dn === undefined ? '' : `${dn}${gap}`}<${u}>`}${params}`;
  });

const tagParam = token.map((t) => `tag=${t}`);
const contactParam = fc.oneof(
  number.map((n) => `expires=${n.text}`),
  fc.constantFrom('q=0', 'q=0.5', 'q=1', 'q=1.000', 'q=0.001', '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"', 'reg-id=1', 'ob'),
);

/** Header names as written: long form in any case, or the compact form (§7.3.3). */
const spelled = (long: string, compact?: string) =>
  compact === undefined ? fc.constantFrom(long, long.toLowerCase(), long.toUpperCase()) : fc.constantFrom(long, long.toLowerCase(), long.toUpperCase(), compact, compact.toUpperCase());

const viaValue = fc
  .record({
    transport: fc.constantFrom('UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS', 'udp', 'tls-sctp'),
    g1: sws,
    g2: sws,
    host,
    port: fc.option(port, { nil: undefined }),
    branch: token,
    params: fc.array(fc.oneof(fc.constant('rport'), port.map((p) => `rport=${p}`), ipv4.map((h) => `received=${h}`), fc.constant('received=2001:db8::9'), fc.constantFrom('ttl=1', 'ttl=00255', 'maddr=224.0.1.75', 'maddr=example.com', 'alias'), genericParam), { maxLength: 3 }),
  })
  .map((v) => `SIP${v.g1}/${v.g2}2.0/${v.transport} ${v.host}${v.port === undefined ? '' : `:${v.port}`};branch=z9hG4bK${v.branch}${v.params.map((p) => `;${p}`).join('')}`);

const callIdWord = fc.array(fc.oneof(TOKEN_CHAR, fc.constantFrom('(', ')', '<', '>', ':', '\\', '"', '/', '[', ']', '?', '{', '}')), { minLength: 1, maxLength: 16 }).map((a) => a.join(''));
const callId = fc.tuple(callIdWord, fc.option(callIdWord, { nil: undefined })).map(([a, b]) => (b === undefined ? a : `${a}@${b}`));

interface Model {
  text: string;
  ok: boolean;
  /** Which model expectation failed, for the report when the property breaks. */
  why: string[];
  method: string;
  maxForwards: number | undefined;
  cseq: number | undefined;
  expires: number | undefined;
  contacts: number;
  routes: number;
  vias: number;
  callId: string;
  bodyLength: number;
  contentLengthWritten: boolean;
}

const fold = (value: string, at: number): string => {
  // Fold at a space, if there is one: LWS may always be written as CRLF + whitespace.
  // (Never right after a line break: CRLF CRLF would end the header section.)
  const spaces = [...value.matchAll(/ /g)].map((m) => m.index ?? 0).filter((i) => value[i - 1] !== '\n');
  if (spaces.length === 0) return value;
  const i = spaces[at % spaces.length] as number;
  return `${value.slice(0, i)}\r\n${value.slice(i)}`;
};

const message: fc.Arbitrary<Model> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    ruri: fc.oneof(
      { weight: 8, arbitrary: sipUri.map((u) => ({ u, fault: undefined })) },
      { weight: 1, arbitrary: telUri.map((u) => ({ u, fault: undefined })) },
      // RFC 3261 §19.1.1: no headers in a SIP Request-URI.
      { weight: 1, arbitrary: fc.tuple(sipUri, uriHeaders).map(([u, h]) => ({ u: u + h, fault: 'uri headers' })) },
      // 416: a scheme the proxy does not handle.
      { weight: 1, arbitrary: fc.constantFrom('http://example.com/', 'mailto:a@b', 'im:bob@example.com').map((u) => ({ u, fault: 'scheme' })) },
    ),
    vias: fc.array(viaValue, { minLength: 1, maxLength: 3 }),
    viaJoined: fc.boolean(),
    viaName: spelled('Via', 'v'),
    from: nameAddr(sipUri, tagParam),
    to: nameAddr(fc.oneof(sipUri, telUri), tagParam),
    fromName: spelled('From', 'f'),
    toName: spelled('To', 't'),
    callId,
    callIdName: spelled('Call-ID', 'i'),
    cseqNumber,
    cseqGap: lws,
    cseqMethodMatches: fc.nat({ max: 9 }),
    maxForwards: fc.option(maxForwards, { nil: undefined }),
    expires: fc.option(expires, { nil: undefined }),
    contacts: fc.oneof(fc.constant([] as string[]), fc.constant(['*']), fc.array(nameAddr(sipUri, contactParam), { minLength: 1, maxLength: 3 })),
    contactName: spelled('Contact', 'm'),
    routes: fc.array(fc.tuple(sipUri, paramsAfter(genericParam)).map(([u, p]) => `<${u}>${p}`), { maxLength: 3 }),
    routeJoined: fc.boolean(),
    recordRoutes: fc.array(sipUri.map((u) => `<${u}>`), { maxLength: 2 }),
    body: fc.stringMatching(/^[ -~]{0,40}$/),
    contentLength: fc.oneof(fc.constant('absent'), fc.constant('exact'), fc.constant('zeros')),
    clName: spelled('Content-Length', 'l'),
    colonGap: fc.array(fc.constantFrom(': ', ':', ' : ', ':\t', ':\r\n '), { minLength: 16, maxLength: 16 }),
    folds: fc.array(fc.option(fc.nat(), { nil: undefined }), { minLength: 16, maxLength: 16 }),
  })
  .map((r) => {
    const why: string[] = [];
    const fields: Array<[string, string]> = [];
    if (r.viaJoined) fields.push([r.viaName, r.vias.join(' ,\r\n  ')]);
    else for (const v of r.vias) fields.push([r.viaName, v]);
    fields.push([r.fromName, r.from]);
    fields.push([r.toName, r.to]);
    fields.push([r.callIdName, r.callId]);
    const cseqMethod = r.cseqMethodMatches === 0 ? (r.method === 'INVITE' ? 'BYE' : 'INVITE') : r.method;
    fields.push(['CSeq', `${r.cseqNumber.text}${r.cseqGap}${cseqMethod}`]);
    if (!r.cseqNumber.ok) why.push('cseq range');
    if (cseqMethod !== r.method) why.push('cseq method');
    if (r.maxForwards !== undefined) {
      fields.push(['Max-Forwards', r.maxForwards.text]);
      if (!r.maxForwards.ok) why.push('max-forwards');
    }
    if (r.expires !== undefined) {
      fields.push(['Expires', r.expires.text]);
      if (!r.expires.ok) why.push('expires');
    }
    if (r.contacts.length > 0) fields.push([r.contactName, r.contacts.join(', ')]);
    if (r.routes.length > 0) {
      if (r.routeJoined) fields.push(['Route', r.routes.join(',')]);
      else for (const x of r.routes) fields.push(['Route', x]);
    }
    for (const x of r.recordRoutes) fields.push(['Record-Route', x]);
    if (r.contentLength !== 'absent') fields.push([r.clName, `${r.contentLength === 'zeros' ? '0'.repeat(12) : ''}${r.body.length}`]);
    if (r.ruri.fault !== undefined) why.push(r.ruri.fault);
    const lines = fields.map(([name, value], i) => {
      const gap = r.colonGap[i % 16] as string;
      const f = r.folds[i % 16];
      // Content-Length is read from the bytes and must not be folded (parse refuses it, 400).
      const v = f === undefined || /^(content-length|l)$/i.test(name) ? value : fold(value, f);
      return `${name}${gap}${v}`;
    });
    const text = `${r.method} ${r.ruri.u} SIP/2.0\r\n${lines.join('\r\n')}\r\n\r\n${r.body}`;
    return {
      text,
      ok: why.length === 0,
      why,
      method: r.method,
      maxForwards: r.maxForwards?.value,
      cseq: r.cseqNumber.ok ? r.cseqNumber.value : undefined,
      expires: r.expires?.value,
      contacts: r.contacts.length,
      routes: r.routes.length,
      vias: r.vias.length,
      callId: r.callId,
      bodyLength: r.body.length,
      contentLengthWritten: r.contentLength !== 'absent',
    };
  });

/** Every typed read a proxy or registrar makes, with no try/catch: a throw fails the property. */
function readEverything(m: SipMessage): void {
  void m.via;
  void m.topVia;
  void m.from?.tag;
  void m.to?.tag;
  void m.callId;
  void m.cseq;
  void m.maxForwards;
  void m.expires;
  for (const c of m.contacts) void [c.expires, c.q, c.params, c.star];
  for (const r of m.routes) void r.params;
  for (const r of m.recordRoutes) void r.params;
  void m.contentLength;
  for (const v of m.via) void [v.params, v.branch, v.rport, v.received, v.ttl, v.maddr];
  if (isRequest(m)) {
    const uri = m.requestUri;
    if (isSipUri(uri)) void [(uri as SipUri).params, (uri as SipUri).headers, uri.port, uri.host];
  }
}

describe('validateMessage and the typed getters agree (RFC 3261 §25.1 grammar)', () => {
  it('accepted ⇒ every getter returns the modelled value; refused ⇒ an answerable status and a modelled fault', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(message, (model) => {
        const m = parseMessage(model.text);
        const problems = validateMessage(m);
        if (problems.length === 0) {
          accepted++;
          expect(model.why, model.text).toEqual([]);
          readEverything(m);
          expect(m.maxForwards).toBe(model.maxForwards);
          expect(m.cseq).toEqual({ seq: model.cseq, method: model.method });
          expect(m.expires).toBe(model.expires);
          expect(m.contacts.length).toBe(model.contacts);
          expect(m.routes.length).toBe(model.routes);
          expect(m.via.length).toBe(model.vias);
          expect(m.callId).toBe(model.callId);
          expect(m.contentLength).toBe(model.contentLengthWritten ? model.bodyLength : undefined);
          // Over a stream the framer cuts the same message by the same Content-Length rule.
          if (model.contentLengthWritten) {
            const events = new StreamFramer().push(Buffer.from(model.text, 'utf8'));
            expect(events.map((e) => e.type)).toEqual(['message']);
            const framed = events[0] as { type: 'message'; bytes: Uint8Array };
            expect(parseMessage(framed.bytes).contentLength).toBe(model.bodyLength);
          }
          // A proxy's edits and a re-parse keep every read working.
          m.setHeader('Max-Forwards', String(Math.max((m.maxForwards ?? 70) - 1, 0)));
          m.insertHeader('Via', 'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKp');
          const again = parseMessage(serializeMessage(m));
          readEverything(again);
          expect(validateMessage(again)).toEqual([]);
        } else {
          refused++;
          expect(model.ok, `${JSON.stringify(problems)}\n${model.text}`).toBe(false);
          for (const p of problems) expect([400, 416, 505]).toContain(p.status);
        }
      }),
      { numRuns: RUNS },
    );
    if (process.env.GRAMMAR_RUNS !== undefined) console.log({ accepted, refused });
    // Both sides of the property were exercised, each substantially.
    expect(accepted).toBeGreaterThan(RUNS / 5);
    expect(refused).toBeGreaterThan(RUNS / 10);
  });

  it('the generated grammar covers leading zeros, huge numbers, folding and compact forms', () => {
    const samples = fc.sample(message, { numRuns: 400, seed: 9 }).map((x) => x.text);
    expect(samples.some((t) => /\r\nMax-Forwards: ?0{3,}\d/.test(t) || /\nMax-Forwards:[ \t]*0{3,}/.test(t))).toBe(true);
    expect(samples.some((t) => /\d{21,}/.test(t))).toBe(true);
    expect(samples.some((t) => /\r\n[ \t]/.test(t))).toBe(true);
    expect(samples.some((t) => /\r\n[vftmiIVFTMl][:\s]/.test(t))).toBe(true);
    expect(samples.some((t) => /\[[0-9a-fA-F:.]+\]/.test(t))).toBe(true);
  });
});
