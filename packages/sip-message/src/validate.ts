import { SipError } from './errors.js';
import { type SipMessage, SipRequest } from './message.js';
import { isToken } from './name-addr.js';
import { isSipUri } from './uri.js';

/** One reason a proxy or UAS would refuse a message, with the status it would answer. */
export interface SipProblem {
  status: number;
  reason: string;
  /** Stable identifier, e.g. `missing-header`, `cseq-method-mismatch`. */
  code: string;
  message: string;
  header?: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  416: 'Unsupported URI Scheme',
  483: 'Too Many Hops',
  505: 'Version Not Supported',
};

// RFC 3261 §8.1.1: what every request needs, §8.2.2 / §16.3: what a proxy checks.
const MANDATORY = ['to', 'from', 'call-id', 'cseq', 'via'];
// Header fields that may appear at most once (RFC 3261 §7.3.1: only lists may repeat).
const SINGLE = [
  'to',
  'from',
  'call-id',
  'cseq',
  'max-forwards',
  'content-length',
  'content-type',
  'expires',
  'min-expires',
];
const COUNTED = new Set([...MANDATORY, ...SINGLE]);
const SPELLING: Record<string, string> = {
  to: 'To',
  from: 'From',
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  via: 'Via',
  'max-forwards': 'Max-Forwards',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  expires: 'Expires',
  'min-expires': 'Min-Expires',
  contact: 'Contact',
  route: 'Route',
  'record-route': 'Record-Route',
};

// word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" /
//         "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
const CALL_ID = /^[\w\-.!%*+`'~()<>:\\"/[\]?{}]+(@[\w\-.!%*+`'~()<>:\\"/[\]?{}]+)?$/;

const RFC1123_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** True when a `<` is followed, or a `>` preceded, by whitespace outside quoted strings. */
function spaceInsideBrackets(value: string): boolean {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c && isWs(value.charCodeAt(i + 1))) return true;
    else if (c === 0x3e && i > 0 && isWs(value.charCodeAt(i - 1))) return true;
  }
  return false;
}

/** True when a `;` outside quotes and <> is followed by nothing, another `;` or a `,`. */
function emptyParam(value: string): boolean {
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x3b && !angle) {
      let j = i + 1;
      while (j < value.length && isWs(value.charCodeAt(j))) j++;
      if (j === value.length || value.charCodeAt(j) === 0x3b || value.charCodeAt(j) === 0x2c) return true;
    }
  }
  return false;
}

function problem(status: number, code: string, message: string, header?: string): SipProblem {
  const p: SipProblem = { status, reason: REASONS[status] ?? 'Bad Request', code, message };
  if (header !== undefined) p.header = header;
  return p;
}

function read(message: SipMessage, header: string): unknown {
  switch (header) {
    case 'via':
      return message.via;
    case 'from':
      return message.from;
    case 'to':
      return message.to;
    case 'contact':
      return message.contacts;
    case 'route':
      return message.routes;
    case 'record-route':
      return message.recordRoutes;
    default:
      return message.contentLength;
  }
}

const PARSED = ['via', 'from', 'to', 'contact', 'route', 'record-route', 'content-length'];
const NAME_ADDR_HEADERS = ['to', 'from', 'contact', 'route', 'record-route'];

function check(out: SipProblem[], header: string, message: SipMessage): void {
  try {
    read(message, header);
  } catch (error) {
    const status = SipError.isInstance(error) && error.status !== undefined ? error.status : 400;
    out.push(problem(status, 'malformed-header', `malformed ${SPELLING[header] ?? header}: ${(error as Error).message}`, SPELLING[header] ?? header));
  }
}

/**
 * Everything a stateless proxy must refuse before forwarding (RFC 3261 §16.3 request validation,
 * §8.2.2 for a UAS), as a list: empty when the message is fine. Max-Forwards 0 is not listed
 * here: whether it means 483 depends on the method and the element (RFC 3261 §16.3 step 3).
 * @see RFC 3261 §7.3.1, §8.1.1, §8.2.2, §16.3; RFC 4475 §3.1.2
 */
export function validateMessage(message: SipMessage): SipProblem[] {
  const out: SipProblem[] = [];
  if (message.version !== 'SIP/2.0' && message.version.toUpperCase() !== 'SIP/2.0') {
    out.push(problem(505, 'version', `SIP version ${message.version} is not supported`));
  }
  // One pass over the field lines counts what must be there once or at all.
  const counts: Record<string, number> = {};
  const fields = message.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as (typeof fields)[number];
    if (!f.removed && COUNTED.has(f.key)) counts[f.key] = (counts[f.key] ?? 0) + 1;
  }
  for (const h of MANDATORY) {
    if (counts[h] === undefined) out.push(problem(400, 'missing-header', `missing ${SPELLING[h]} header`, SPELLING[h]));
  }
  for (const h of SINGLE) {
    if ((counts[h] ?? 0) > 1) {
      const values = new Set(message.getHeaders(h).map((v) => v.trim()));
      out.push(
        problem(
          400,
          values.size > 1 ? 'conflicting-header' : 'duplicated-header',
          values.size > 1 ? `conflicting definition of ${SPELLING[h]}` : `duplicated ${SPELLING[h]} header`,
          SPELLING[h],
        ),
      );
    }
  }
  for (let i = 0; i < PARSED.length; i++) check(out, PARSED[i] as string, message);

  // CSeq, Max-Forwards and Expires are judged by the typed getters themselves, so whatever passes
  // here reads without throwing later (and the other way round).
  if (counts.cseq !== undefined) {
    try {
      const cseq = message.cseq;
      if (message instanceof SipRequest && cseq !== undefined && cseq.method !== message.method) {
        out.push(problem(400, 'cseq-method-mismatch', 'method in CSeq does not match method of request', 'CSeq'));
      }
    } catch (error) {
      out.push(problem(400, 'malformed-header', `malformed CSeq: ${(error as Error).message}`, 'CSeq'));
    }
  }
  // Max-Forwards = 1*DIGIT from 0 to 255 (RFC 3261 §20.22), leading zeros fine (RFC 4475 wsinv).
  if (counts['max-forwards'] !== undefined) {
    try {
      void message.maxForwards;
    } catch {
      out.push(problem(400, 'malformed-header', 'Max-Forwards is not a number from 0 to 255', 'Max-Forwards'));
    }
  }
  // Expires = delta-seconds (RFC 3261 §20.19); past 2**32-1 it counts as 2**32-1.
  if (counts.expires !== undefined) {
    try {
      void message.expires;
    } catch {
      out.push(problem(400, 'malformed-header', 'Expires is not delta-seconds', 'Expires'));
    }
  }
  // callid = word [ "@" word ] (RFC 3261 §25.1), as Net::SIP checks it too.
  const callId = message.getHeader('call-id');
  if (callId !== undefined && !CALL_ID.test(callId)) {
    out.push(problem(400, 'malformed-header', 'Call-ID is not word["@"word]', 'Call-ID'));
  }
  // Date = rfc1123-date, and the only zone RFC 3261 §20.17 allows is "GMT" (RFC 4475 baddate).
  const date = message.getHeader('date');
  if (date !== undefined && !RFC1123_DATE.test(date.trim())) {
    out.push(problem(400, 'malformed-header', 'Date is not an RFC 1123 date in GMT', 'Date'));
  }
  // LAQUOT = SWS "<" and RAQUOT = ">" SWS (RFC 3261 §25.1): no whitespace inside the brackets
  // of a name-addr (RFC 4475 badaspec).
  for (const h of NAME_ADDR_HEADERS) {
    for (const value of message.getHeaders(h)) {
      if (spaceInsideBrackets(value)) {
        out.push(problem(400, 'malformed-header', `whitespace inside <> in ${SPELLING[h]}`, SPELLING[h]));
        break;
      }
      // *( SEMI generic-param ): a parameter is never empty (RFC 4475 badinv01 Contact `;;;;`).
      if (emptyParam(value)) {
        out.push(problem(400, 'malformed-header', `empty parameter in ${SPELLING[h]}`, SPELLING[h]));
        break;
      }
    }
  }
  const ct = message.getHeader('content-type');
  if (ct !== undefined) {
    const semi = ct.indexOf(';');
    const media = (semi === -1 ? ct : ct.slice(0, semi)).trim();
    const slash = media.indexOf('/');
    if (slash === -1 || !isToken(media.slice(0, slash).trim()) || !isToken(media.slice(slash + 1).trim())) {
      out.push(problem(400, 'malformed-header', 'Content-Type is not type/subtype', 'Content-Type'));
    }
  }
  if (message instanceof SipRequest) {
    let scheme: string | undefined;
    try {
      scheme = message.requestUri.scheme;
    } catch (error) {
      out.push(problem(400, 'bad-request-uri', `malformed Request-URI: ${(error as Error).message}`));
    }
    if (scheme !== undefined && scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
      out.push(problem(416, 'unsupported-uri-scheme', `Request-URI scheme ${scheme} is not supported`));
    }
    // RFC 3261 §19.1.1 (table of §19.1.2): a SIP Request-URI carries no headers (RFC 4475 escruri).
    // URI parameters and headers are read lazily, so a malformed one fails only here.
    if (scheme !== undefined && isSipUri(message.requestUri)) {
      try {
        if (Object.keys(message.requestUri.headers).length > 0) {
          out.push(problem(400, 'bad-request-uri', 'headers are not allowed in a Request-URI'));
        }
        void message.requestUri.params;
      } catch (error) {
        out.push(problem(400, 'bad-request-uri', `malformed Request-URI: ${(error as Error).message}`));
      }
    }
  }
  return out;
}
