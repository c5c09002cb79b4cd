import type { Dispatcher, ReceiveInfo } from '@sipway/sip-leg';
import { createResponse, statelessToTag } from '@sipway/sip-message';
import type { SipMessage } from '@sipway/sip-message';

const ALLOW = 'REGISTER, OPTIONS';

function answerFor(method: string): [number, string] {
  switch (method) {
    case 'OPTIONS':
      return [200, 'OK'];
    case 'REGISTER':
      return [404, 'Domain Not Served'];
    case 'CANCEL':
      return [481, 'Call/Transaction Does Not Exist'];
    default:
      return [405, 'Method Not Allowed'];
  }
}

/**
 * The last member of a registrar-only chain, for what the Registrar did not take: OPTIONS gets
 * 200 with Allow (RFC 3261 §11.2, clients use it as a keep-alive), a REGISTER for a domain we do
 * not serve gets 404 — there is no proxy behind us to forward it (§10.3 step 1) — and any other
 * request 405 with Allow (§21.4.6); a CANCEL matches no transaction here, so 481 (§9.2). ACKs
 * and responses are dropped: nothing to answer.
 */
export function registrarFallback(dispatcher: Pick<Dispatcher, 'deliver'>) {
  return async function fallback(message: SipMessage, info: ReceiveInfo): Promise<boolean> {
    if (!message.isRequest || message.method === 'ACK') return true;
    const [status, reason] = answerFor(message.method);
    let response;
    try {
      response = createResponse(message, status, reason, { toTag: statelessToTag(message), headers: [['Allow', ALLOW]] });
    } catch {
      return true; // too broken to answer (no Via, no CSeq): dropped
    }
    await dispatcher.deliver(response, { incoming: info });
    return true;
  };
}
