import type { Dispatcher, ReceiveInfo } from '@sipway/sip-leg';
import { REASON_PHRASES, createResponse, isRequest, statelessToTag, type SipMessage } from '@sipway/sip-message';

export interface BlockerOptions {
  dispatcher: Pick<Dispatcher, 'deliver'>;
  /**
   * Method → status (and optional reason): `{ INVITE: 405, MESSAGE: [403, 'No messages'] }`.
   * Methods are case-sensitive (RFC 3261 §7.1).
   */
  block: Record<string, number | readonly [number, string]>;
  /** Methods listed in the Allow header of a 405 (RFC 3261 §21.4.6 says it MUST be there). */
  allow?: readonly string[] | undefined;
}

const DEFAULT_ALLOW = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER'];

/**
 * A chain member that answers requests of blocked methods statelessly (Net::SIP's Blocker).
 * An ACK is never answered; when INVITE is blocked its ACKs are swallowed too, since they can
 * only acknowledge our own error response.
 */
export class Blocker {
  readonly #dispatcher: BlockerOptions['dispatcher'];
  readonly #block: Map<string, readonly [number, string]>;
  readonly #allow: readonly string[];

  constructor(options: BlockerOptions) {
    this.#dispatcher = options.dispatcher;
    this.#block = new Map();
    for (const [method, spec] of Object.entries(options.block)) {
      const [status, reason] = typeof spec === 'number' ? [spec, REASON_PHRASES[spec] ?? 'Blocked'] : spec;
      if (!Number.isInteger(status) || status < 300 || status > 699) {
        throw new RangeError(`Blocker: status for ${method} must be 300..699, got ${status}`);
      }
      this.#block.set(method, [status, reason]);
    }
    const blocked = new Set(this.#block.keys());
    this.#allow = (options.allow ?? DEFAULT_ALLOW).filter((m) => !blocked.has(m));
  }

  async receive(message: SipMessage, info: ReceiveInfo): Promise<boolean> {
    if (!isRequest(message)) return false;
    if (message.method === 'ACK') return this.#block.has('INVITE');
    const spec = this.#block.get(message.method);
    if (spec === undefined) return false;
    const [status, reason] = spec;
    const headers: Array<[string, string]> = status === 405 ? [['Allow', this.#allow.join(', ')]] : [];
    const response = createResponse(message, status, reason, { toTag: statelessToTag(message, 'b'), headers });
    await this.#dispatcher.deliver(response, { incoming: info });
    return true;
  }
}
