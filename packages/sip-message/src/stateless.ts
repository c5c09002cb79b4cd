/** What an element answering without state derives from the request alone (RFC 3261 §16.11, §8.2.6.2). */
import * as crypto from 'node:crypto';
import type { SipRequest } from './message.js';

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object; engines allows 20.11.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/**
 * The To tag of a stateless answer: the same for every retransmission of the request and for
 * the ACK of that answer, another one for another request of the dialog (RFC 3261 §8.2.6.2,
 * §16.11, §17.1.1.3). Derived from the From tag, Call-ID and CSeq number — never the method
 * (the ACK of a non-2xx answer carries the tag its INVITE was answered with) and never the Via
 * (a client that does not keep the INVITE's branch in its ACK still matches). `prefix` names the
 * element that answered, kept within the 16 characters.
 */
export function statelessToTag(request: SipRequest, prefix = ''): string {
  // Total: the 400 to a request whose From or CSeq does not parse (a CSeq past 2**32-1) needs a
  // tag too, so an unparsable value counts by its text; a valid one gives the tag it always gave.
  const fromTag = readOr(() => request.from?.tag ?? '', request.getHeader('from'));
  const seq = readOr<string | number | undefined>(() => request.cseq?.seq ?? '', request.getHeader('cseq'));
  const text = `${fromTag ?? ''}\n${request.callId ?? ''}\n${seq ?? ''}`;
  const hex = oneShot !== undefined ? oneShot('md5', text, 'hex') : crypto.createHash('md5').update(text).digest('hex');
  return prefix + hex.slice(0, Math.max(8, 16 - prefix.length));
}

function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
