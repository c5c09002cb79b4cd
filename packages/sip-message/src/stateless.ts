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
  const text = `${request.from?.tag ?? ''}\n${request.callId ?? ''}\n${request.cseq?.seq ?? ''}`;
  const hex = oneShot !== undefined ? oneShot('md5', text, 'hex') : crypto.createHash('md5').update(text).digest('hex');
  return prefix + hex.slice(0, Math.max(8, 16 - prefix.length));
}
