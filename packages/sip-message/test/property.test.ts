// Property tests (fast-check): parseMessage throws nothing but SipParseError and always returns,
// on random bytes, on SIP-shaped noise and on mutated real messages; parse → serialize → parse is
// stable; the proxy edits (insert Via, remove the top Route, set Max-Forwards) leave every other
// header line byte for byte as it came in.
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipParseError, StreamFramer, isRequest, parseMessage, serializeMessage, validateMessage, type SipMessage } from '../src/index.js';

const RUNS = 300;
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

// Real messages to mutate: every RFC 4475 / RFC 5118 fixture, valid or not.
const FIXTURES: Buffer[] = ['rfc4475', 'rfc5118'].flatMap((d) => {
  const dir = new URL(`./fixtures/${d}/`, import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => readFileSync(new URL(f, dir)));
});

/** Reads everything a proxy reads; each accessor may only fail with SipParseError. */
function touchAll(m: SipMessage): void {
  const reads: Array<() => unknown> = [
    () => m.via,
    () => m.topVia,
    () => m.from,
    () => m.to,
    () => m.callId,
    () => m.cseq,
    () => m.maxForwards,
    () => m.contacts,
    () => m.routes,
    () => m.recordRoutes,
    () => m.contentLength,
    () => m.getHeaders('supported'),
    () => (isRequest(m) ? m.requestUri : m.status),
  ];
  for (const read of reads) {
    try {
      read();
    } catch (error) {
      if (!SipParseError.isInstance(error)) throw error;
    }
  }
  // validateMessage reports problems as values; it never throws.
  validateMessage(m);
}

/** parseMessage either returns a message that survives touchAll, or throws a SipParseError. */
function parseOnlyThrowsSipParseError(bytes: Uint8Array | string): void {
  let m: SipMessage;
  try {
    m = parseMessage(bytes);
  } catch (error) {
    if (!SipParseError.isInstance(error)) throw error;
    expect(typeof (error as SipParseError).status).toBe('number');
    return;
  }
  touchAll(m);
  serializeMessage(m);
}

// SIP-shaped noise: fragments that drive the parser into its deeper states.
const FRAGMENTS = [
  'INVITE ', 'sip:', 'sips:', 'tel:+1', ' SIP/2.0', 'SIP/2.0 ', '200 OK', '\r\n', '\n', '\r', '\r\n\r\n', ' ', '\t',
  ':', ';', ',', '"', '\\', '<', '>', '[', ']', '@', '=', '?', '&', '%', '%0', '%00', '%4', '0', '1', '65535', '99999999999',
  'Via: SIP/2.0/UDP ', 'v: ', 'branch=z9hG4bK', ';rport', ';received=', 'From: ', 'To: ', 'f: ', 't: ', 'Call-ID: ',
  'CSeq: 1 INVITE', 'Max-Forwards: ', 'Content-Length: ', 'l: ', 'Contact: ', 'm: *', 'Route: ', 'Record-Route: ',
  ';lr', ';tag=', ';expires=', ';q=0.5', '::1', '[::1]', '2001:db8:::1', '192.0.2.1', 'host.example.com', '\u0000', '\u00ff',
];
const sipNoise = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 60 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));

/** Byte-level mutations of a real message. */
const mutated = fc
  .tuple(
    fc.constantFrom(...FIXTURES),
    fc.array(
      fc.tuple(fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'dup', 'crlf'), fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 40 })),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([base, ops]) => {
    let b = Buffer.from(base);
    for (const [op, at, byte, len] of ops) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (op === 'flip') b[i] = byte;
      else if (op === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
      else if (op === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + len)]);
      else if (op === 'truncate') b = b.subarray(0, i);
      else if (op === 'dup') b = Buffer.concat([b.subarray(0, i + len), b.subarray(i)]);
      else b = Buffer.concat([b.subarray(0, i), Buffer.from('\r\n'), b.subarray(i)]);
    }
    return b;
  });

describe('parseMessage on hostile input', () => {
  it('random bytes: returns or throws SipParseError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), parseOnlyThrowsSipParseError), { numRuns: RUNS * 3 });
  });

  it('random bytes behind a valid start line: returns or throws SipParseError', () => {
    fc.assert(
      fc.property(fc.constantFrom('INVITE sip:a@b SIP/2.0\r\n', 'SIP/2.0 180 Ringing\r\n'), fc.uint8Array({ maxLength: 1024 }), (start, tail) =>
        parseOnlyThrowsSipParseError(Buffer.concat([Buffer.from(start), tail])),
      ),
      { numRuns: RUNS },
    );
  });

  it('SIP-shaped noise: returns or throws SipParseError', () => {
    fc.assert(fc.property(sipNoise, parseOnlyThrowsSipParseError), { numRuns: RUNS * 3 });
  });

  it('mutated RFC 4475 / 5118 messages: returns or throws SipParseError', () => {
    fc.assert(fc.property(mutated, parseOnlyThrowsSipParseError), { numRuns: RUNS * 3 });
  });

  it('strings (UTF-16 in, any code point): returns or throws SipParseError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), parseOnlyThrowsSipParseError), { numRuns: 200 });
  });

  it('regression (found by a longer run): a malformed URI header in the Request-URI is a 400, not a throw', () => {
    const m = parseMessage('OPTIONS sip:r?gistrar.example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n');
    expect(() => touchAll(m)).not.toThrow();
    expect(validateMessage(m).filter((p) => p.code === 'bad-request-uri').map((p) => p.status)).toEqual([400]);
  });

  it('a message of 100k header lines ends in a SipParseError (limits), not a hang', () => {
    const big = `OPTIONS sip:a@b SIP/2.0\r\n${'X-A: b\r\n'.repeat(100_000)}\r\n`;
    expect(() => parseMessage(big)).toThrowError(SipParseError);
  });
});

describe('parse → serialize → parse', () => {
  const stable = (bytes: Uint8Array): void => {
    let m: SipMessage;
    try {
      m = parseMessage(bytes);
    } catch {
      return;
    }
    const out = Buffer.from(serializeMessage(m));
    // Unmodified: the very bytes that came in, up to the end of the body (CR/LF before the start
    // line are skipped on input, RFC 3261 §7.5).
    expect(latin1(bytes).replace(/^[\r\n]+/, '').startsWith(latin1(out))).toBe(true);
    const again = parseMessage(out);
    expect(again.headers).toEqual(m.headers);
    expect(Buffer.from(again.body).equals(Buffer.from(m.body))).toBe(true);
    expect(isRequest(again)).toBe(isRequest(m));
    expect(Buffer.from(serializeMessage(again)).equals(out)).toBe(true);
  };

  it('is stable on mutated real messages', () => {
    fc.assert(fc.property(mutated, stable), { numRuns: RUNS * 2 });
  });

  it('is stable on generated messages', () => {
    fc.assert(fc.property(genMessage(), (g) => stable(Buffer.from(g.text, 'latin1'))), { numRuns: RUNS });
  });

  it('is stable after edits: the edited message serializes, parses, and serializes the same again', () => {
    fc.assert(
      fc.property(genMessage(), (g) => {
        const m = parseMessage(g.text);
        m.insertHeader('Via', 'SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKprop');
        m.removeHeaderValue('route', 0);
        m.setHeader('max-forwards', '42');
        const out = Buffer.from(serializeMessage(m));
        const again = parseMessage(out);
        expect(Buffer.from(serializeMessage(again)).equals(out)).toBe(true);
        expect(again.maxForwards).toBe(42);
        expect(again.topVia?.branch).toBe('z9hG4bKprop');
        expect(again.routes.map((r) => r.uri)).toEqual(g.routes.slice(1));
        expect(again.via).toHaveLength(g.vias + 1);
        expect(latin1(again.body)).toBe(g.body);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- generated messages with known structure ----

interface Generated {
  text: string;
  /** Header field lines (folded continuation lines included) in order. */
  fields: Array<{ name: string; line: string }>;
  routes: string[];
  vias: number;
  body: string;
}

const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,12}$/);
const text = fc.stringMatching(/^[\x21-\x7e]([ \x21-\x7e]{0,30}[\x21-\x7e])?$/);
const hostname = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}$/);

function genMessage(): fc.Arbitrary<Generated> {
  const via = fc.tuple(fc.constantFrom('UDP', 'TCP', 'TLS'), hostname, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), token).map(
    ([t, h, p, b]) => `SIP/2.0/${t} ${h}${p === undefined ? '' : `:${p}`};branch=z9hG4bK${b}`,
  );
  const route = fc.tuple(hostname, fc.boolean()).map(([h, lr]) => `sip:${h}${lr ? ';lr' : ''}`);
  const extension = fc.tuple(token, text, fc.option(text, { nil: undefined })).map(([n, v, cont]) => ({
    name: `X-${n}`,
    value: cont === undefined ? v : `${v}\r\n ${cont}`,
  }));
  return fc
    .record({
      request: fc.boolean(),
      method: fc.constantFrom('INVITE', 'OPTIONS', 'REGISTER', 'BYE', 'MESSAGE', 'SUBSCRIBE'),
      user: token,
      host: hostname,
      vias: fc.array(via, { minLength: 1, maxLength: 4 }),
      viaJoin: fc.boolean(),
      compact: fc.boolean(),
      routes: fc.array(route, { maxLength: 4 }),
      routeJoin: fc.boolean(),
      mf: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      tag: token,
      callId: token,
      seq: fc.integer({ min: 1, max: 2 ** 31 }),
      extensions: fc.array(extension, { maxLength: 5 }),
      body: fc.stringMatching(/^[ -~\r\n]{0,80}$/),
      order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
    })
    .map((r) => {
      const f: Array<{ name: string; value: string }> = [];
      const viaName = r.compact ? 'v' : 'Via';
      if (r.viaJoin) f.push({ name: viaName, value: r.vias.join(', ') });
      else for (const v of r.vias) f.push({ name: viaName, value: v });
      f.push({ name: r.compact ? 'f' : 'From', value: `<sip:${r.user}@${r.host}>;tag=${r.tag}` });
      f.push({ name: r.compact ? 't' : 'To', value: `<sip:${r.user}@${r.host}>` });
      f.push({ name: r.compact ? 'i' : 'Call-ID', value: r.callId });
      f.push({ name: 'CSeq', value: `${r.seq} ${r.method}` });
      if (r.mf !== undefined) f.push({ name: 'Max-Forwards', value: String(r.mf) });
      if (r.routes.length > 0) {
        if (r.routeJoin) f.push({ name: 'Route', value: r.routes.map((x) => `<${x}>`).join(',') });
        else for (const x of r.routes) f.push({ name: 'Route', value: `<${x}>` });
      }
      f.push(...r.extensions);
      // Shuffle, but keep the relative order of Via and of Route fields (their order is meaning).
      const keyed = f.map((x, i) => ({ x, k: /^(v|via|route)$/i.test(x.name) ? i : (r.order[i % 20] ?? 0) + i / 100 }));
      const ordered = /^(v|via|route)$/i;
      const fixed = keyed.filter((e) => ordered.test(e.x.name));
      const free = keyed.filter((e) => !ordered.test(e.x.name)).sort((a, b) => a.k - b.k);
      const merged = [...fixed, ...free].sort((a, b) => (ordered.test(a.x.name) && ordered.test(b.x.name) ? a.k - b.k : 0));
      const all = [...merged.map((e) => e.x), { name: r.compact ? 'l' : 'Content-Length', value: String(r.body.length) }];
      const start = r.request ? `${r.method} sip:${r.user}@${r.host} SIP/2.0` : '200 OK';
      const first = r.request ? start : `SIP/2.0 ${start}`;
      const fields = all.map((x) => ({ name: x.name, line: `${x.name}: ${x.value}` }));
      return {
        text: `${first}\r\n${fields.map((x) => x.line).join('\r\n')}\r\n\r\n${r.body}`,
        fields,
        routes: r.routes,
        vias: r.vias.length,
        body: r.body,
      };
    });
}

/** Header field lines of a serialized message (continuation lines stay with their field). */
function fieldLines(bytes: Uint8Array): string[] {
  const s = latin1(bytes);
  const head = s.slice(s.indexOf('\r\n') + 2, s.indexOf('\r\n\r\n'));
  const out: string[] = [];
  for (const line of head.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && out.length > 0) out[out.length - 1] += `\r\n${line}`;
    else out.push(line);
  }
  return out;
}

describe('proxy edits keep untouched header lines byte for byte', () => {
  const edit = (m: SipMessage): void => {
    m.insertHeader('Via', 'SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKedit');
    m.removeHeaderValue('route', 0);
    m.setHeader('max-forwards', '69');
  };
  /** Fields the edits may rewrite: Route (a value removed) and Max-Forwards (set). */
  const touched = /^(route|max-forwards)\s*:/i;

  const keepsUntouched = (input: Uint8Array): void => {
    const m = parseMessage(input);
    const before = fieldLines(serializeMessage(m)).filter((l) => !touched.test(l));
    edit(m);
    const out = serializeMessage(m);
    const after = fieldLines(out);
    expect(after[0]).toBe('Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKedit');
    // Every untouched line is still there, unchanged and in the same order. A message that had
    // no Content-Length (a datagram may omit it) gets one when rebuilt: that is an addition.
    const hadLength = before.some((l) => /^(content-length|l)\s*:/i.test(l));
    const kept = after.filter((l) => !touched.test(l) && (hadLength || !/^content-length\s*:/i.test(l)));
    expect(kept.slice(1)).toEqual(before);
    expect(latin1(out).endsWith(latin1(m.body))).toBe(true);
    expect(parseMessage(out).maxForwards).toBe(69);
  };

  it('on generated messages', () => {
    fc.assert(
      fc.property(genMessage(), (g) => {
        keepsUntouched(Buffer.from(g.text, 'latin1'));
        // The generator's own lines, other than Route and Max-Forwards, are all in the output.
        const m = parseMessage(g.text);
        edit(m);
        const lines = fieldLines(serializeMessage(m));
        for (const f of g.fields) if (!/^(route|max-forwards)$/i.test(f.name)) expect(lines).toContain(f.line);
      }),
      { numRuns: RUNS },
    );
  });

  it('with the Request-URI and the first Contact rewritten too', () => {
    fc.assert(
      fc.property(genMessage(), fc.boolean(), (g, withContact) => {
        const text = withContact ? g.text.replace('\r\n\r\n', '\r\nContact: <sip:ua@192.0.2.7:5062>;expires=60\r\n\r\n') : g.text;
        const m = parseMessage(text);
        const before = fieldLines(serializeMessage(m)).filter((l) => !/^(route|max-forwards|contact|m)\s*:/i.test(l));
        edit(m);
        if (isRequest(m)) m.uri = 'sip:next@[2001:db8::7]:5080;transport=tcp';
        if (withContact) m.replaceHeaderValue('contact', 0, '<sip:rewritten@192.0.2.99>;expires=60');
        const out = serializeMessage(m);
        const again = parseMessage(out);
        const after = fieldLines(out).filter((l) => !/^(route|max-forwards|contact|m)\s*:/i.test(l));
        expect(after.slice(1)).toEqual(before);
        if (isRequest(again)) expect(again.uri).toBe('sip:next@[2001:db8::7]:5080;transport=tcp');
        if (withContact) expect(again.contacts.map((c) => [c.uri, c.expires])).toEqual([['sip:rewritten@192.0.2.99', 60]]);
        expect(latin1(again.body)).toBe(g.body);
      }),
      { numRuns: RUNS },
    );
  });

  it('on every valid RFC 4475 / 5118 request (folded lines, compact forms, odd case)', () => {
    for (const bytes of FIXTURES) {
      let m: SipMessage;
      try {
        m = parseMessage(bytes);
      } catch {
        continue;
      }
      if (!isRequest(m) || validateMessage(m).some((p) => p.status !== 416)) continue;
      keepsUntouched(bytes);
    }
  });

  it('wsinv: its folded Route goes whole, its folded Via and Contact lines stay as they were', () => {
    const wsinv = FIXTURES.find((b) => latin1(b).includes('wsinv.ndaksdj'))!;
    const m = parseMessage(wsinv);
    edit(m);
    const out = latin1(serializeMessage(m));
    expect(out).not.toContain('services.example.com');
    expect(out).toContain('v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP');
    expect(out).toContain('m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n');
    expect(out).not.toContain('0068');
  });
});

describe('limits and stream framing', () => {
  it('maxMessageSize, maxHeaders and maxLineLength refuse with a SipParseError, and only when exceeded', () => {
    fc.assert(
      fc.property(genMessage(), fc.nat({ max: 200 }), (g, slack) => {
        const bytes = Buffer.from(g.text, 'latin1');
        const fields = g.fields.length;
        const longest = Math.max(...g.text.split('\r\n').map((l) => l.length));
        expect(parseMessage(bytes, { maxMessageSize: bytes.length, maxHeaders: fields, maxLineLength: longest }).headers).toHaveLength(fields);
        const tooBig = (): unknown => parseMessage(bytes, { maxMessageSize: Math.max(1, bytes.length - 1 - slack) });
        expect(tooBig).toThrowError(SipParseError);
        expect(() => parseMessage(bytes, { maxHeaders: fields - 1 })).toThrowError(SipParseError);
        expect(() => parseMessage(bytes, { maxLineLength: longest - 1 })).toThrowError(SipParseError);
      }),
      { numRuns: RUNS },
    );
  });

  it('a stream of generated messages frames the same however it is chunked', () => {
    fc.assert(
      fc.property(fc.array(genMessage(), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 50 }), (gs, cuts) => {
        const parts = gs.map((g) => Buffer.from(g.text, 'latin1'));
        const stream = Buffer.concat(parts);
        const framer = new StreamFramer();
        const got: Buffer[] = [];
        let i = 0;
        let k = 0;
        while (i < stream.length) {
          const n = Math.min(cuts[k++ % cuts.length]!, stream.length - i);
          for (const e of framer.push(stream.subarray(i, i + n))) {
            expect(e.type).toBe('message');
            if (e.type === 'message') got.push(Buffer.from(e.bytes));
          }
          i += n;
        }
        expect(got).toHaveLength(parts.length);
        got.forEach((b, j) => expect(b.equals(parts[j]!)).toBe(true));
        expect(framer.bufferedBytes).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('the framer never holds more than its limits on endless header bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.integer({ min: 1, max: 64 }), (junk, rounds) => {
        const framer = new StreamFramer({ maxHeaderSize: 8192, maxMessageSize: 16384 });
        // No blank line ever: the framer must give up, not grow.
        const chunk = Buffer.from(junk).map((b) => (b === 10 ? 32 : b));
        for (let r = 0; r < rounds && !framer.failed; r++) {
          framer.push(chunk);
          expect(framer.bufferedBytes).toBeLessThanOrEqual(8192 + chunk.length);
        }
      }),
      { numRuns: 100 },
    );
  });
});
