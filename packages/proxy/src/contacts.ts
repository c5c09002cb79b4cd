/**
 * Contact rewriting between legs (Net::SIP `__forward_packet_final` step 4, reference §2.5):
 * a Contact leaving through another leg becomes `sip:TOKEN@<that leg>`, and a token coming back
 * is restored, so in-dialog requests find their way through the proxy.
 */
import { parseContact, type SipMessage } from '@sipway/sip-message';
import type { Leg } from '@sipway/sip-leg';
import { legUri } from './own-legs.js';

/** The part of `ContactRewriter` (from @sipway/contact-rewriter) the proxy uses. */
export interface ProxyContactRewriter {
  encode(contact: string, legIn: Leg, legOut: Leg): string;
  /** `issuedAt` (ms): when a time-limited token was made; expired tokens do not decode at all. */
  decode(user: string, legIn: Leg, legOut?: Leg): { contact: string; leg: Leg | undefined; issuedAt?: number | undefined } | undefined;
  isToken(user: string): boolean;
}

/** `sip:` or `sips:` and the rest of a URI, or undefined for other schemes. */
export function splitScheme(uri: string): { scheme: string; rest: string } | undefined {
  const m = /^(sips?):(.*)$/i.exec(uri);
  return m === null ? undefined : { scheme: (m[1] ?? 'sip').toLowerCase(), rest: m[2] ?? '' };
}

/** The user part of a `sip:`/`sips:` URI text (everything before the last `@`), if any. */
export function userPart(rest: string): string | undefined {
  const at = rest.lastIndexOf('@');
  return at <= 0 ? undefined : rest.slice(0, at);
}

/**
 * `sip:TOKEN@host:port;transport=…` — the leg's contact with the token as user part; `sips:`
 * on a TLS leg only when the Contact it replaces was a SIPS URI (RFC 5630 §3.1.3).
 */
export function tokenUri(token: string, leg: Leg, secure = false): string {
  const contact = legUri(leg, secure);
  const colon = contact.indexOf(':');
  return `${contact.slice(0, colon + 1)}${token}@${contact.slice(colon + 1)}`;
}

/**
 * Rewrites every sip:/sips: Contact of `message` for a trip from `legIn` to `legOut`: a token
 * that decodes for this path is restored, anything else is encoded. `*`, `tel:` and other
 * schemes stay. Display names and header parameters (`expires`, `+sip.instance`) are kept as
 * written. Returns how many values changed.
 */
export function rewriteContacts(message: SipMessage, rewriter: ProxyContactRewriter, legIn: Leg, legOut: Leg): number {
  const values = message.getHeaders('contact');
  let changed = 0;
  for (let i = 0; i < values.length; i++) {
    const raw = values[i] as string;
    let contact;
    try {
      contact = parseContact(raw);
    } catch {
      continue;
    }
    if (contact.star) continue;
    const parts = splitScheme(contact.uri);
    if (parts === undefined) continue;
    let uri: string | undefined;
    const user = userPart(parts.rest);
    if (user !== undefined && rewriter.isToken(user)) {
      const back = rewriter.decode(user, legIn, legOut);
      if (back !== undefined) uri = `${parts.scheme}:${back.contact}`;
    }
    uri ??= tokenUri(rewriter.encode(parts.rest, legIn, legOut), legOut, parts.scheme === 'sips');
    let value: string;
    if (contact.bracketed) {
      // Find `<uri` itself: a quoted display name may hold a '<' of its own.
      let start = raw.indexOf(`<${contact.uri}`);
      if (start === -1) start = raw.lastIndexOf('<');
      const end = raw.indexOf('>', start);
      value = `${raw.slice(0, start + 1)}${uri}${raw.slice(end)}`;
    } else {
      const at = raw.indexOf(contact.uri);
      value = `<${uri}>${raw.slice(at + contact.uri.length)}`;
    }
    message.replaceHeaderValue('contact', i, value);
    changed++;
  }
  return changed;
}
