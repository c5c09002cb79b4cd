import { channel } from 'node:diagnostics_channel';
import type { LegLogger, Receiver, ReceiveInfo } from '@sipway/sip-leg';
import type { SipMessage } from '@sipway/sip-message';

/**
 * What a member of the chain is: anything with a `receive` (a proxy, a registrar, a blocker)
 * or a plain function. A truthy result (or a promise of one) means "taken": later members do
 * not see the message. Falsy means "not mine".
 */
export type ChainHandler = Receiver | ((message: SipMessage, info: ReceiveInfo) => unknown);

/** A member with an optional filter: when the filter says no, the member is skipped. */
export interface ChainMember {
  handler: ChainHandler;
  filter?: (message: SipMessage, info: ReceiveInfo) => boolean;
  /** Shown in diagnostics and logs. */
  name?: string;
}

export interface ReceiveChainOptions {
  /** Optional logger in pino's `(fields, msg)` order (sip-leg's `LegLogger`): a pino logger is passed straight in. Only `debug` is used. */
  logger?: Pick<LegLogger, 'debug'> | undefined;
}

/** Payload of `sipway:chain:handled`: which member took the message. */
export interface ChainHandledEvent {
  message: SipMessage;
  info: ReceiveInfo;
  member: string | undefined;
}

/** Payload of `sipway:chain:unhandled`. */
export interface ChainUnhandledEvent {
  message: SipMessage;
  info: ReceiveInfo;
}

/** Published when no member took a message. */
export const unhandledChannel = channel('sipway:chain:unhandled');
/** Published when a member took a message: `{ message, info, member }`. */
export const handledChannel = channel('sipway:chain:handled');

function isMember(m: ChainHandler | ChainMember): m is ChainMember {
  return typeof m === 'object' && m !== null && 'handler' in m;
}

function nameOf(handler: ChainHandler, index: number): string {
  if (typeof handler === 'function') return handler.name || `member ${index}`;
  return handler.constructor?.name ?? `member ${index}`;
}

/**
 * Hands each received message to its members in order until one takes it — Net::SIP's
 * ReceiveChain (`[Authorize, Registrar, StatelessProxy]`). It is itself a {@link Receiver}, so a
 * dispatcher, or another chain, can own it.
 */
export class ReceiveChain implements Receiver {
  readonly #members: ChainMember[];
  readonly #logger: ReceiveChainOptions['logger'];

  constructor(members: ReadonlyArray<ChainHandler | ChainMember>, options: ReceiveChainOptions = {}) {
    this.#members = members.map((m, i) => {
      const member = isMember(m) ? { ...m } : { handler: m };
      if (typeof member.handler !== 'function' && typeof member.handler?.receive !== 'function') {
        throw new TypeError(`receive chain member ${i} has no receive()`);
      }
      member.name ??= nameOf(member.handler, i);
      return member;
    });
    this.#logger = options.logger;
  }

  /** The members, in order. */
  get members(): readonly ChainMember[] {
    return this.#members;
  }

  /**
   * Offers the message to each member in turn. Resolves to true when one took it. A member that
   * throws is reported to the caller (the dispatcher logs it and drops the message), as in Net::SIP.
   */
  async receive(message: SipMessage, info: ReceiveInfo): Promise<boolean> {
    for (const member of this.#members) {
      if (member.filter !== undefined && !member.filter(message, info)) continue;
      const h = member.handler;
      const out = typeof h === 'function' ? h(message, info) : h.receive(message, info);
      const taken = out instanceof Promise ? await out : out;
      if (taken) {
        if (handledChannel.hasSubscribers) handledChannel.publish({ message, info, member: member.name } satisfies ChainHandledEvent);
        return true;
      }
    }
    this.#logger?.debug?.({ source: info.source }, 'no chain member took the message');
    if (unhandledChannel.hasSubscribers) unhandledChannel.publish({ message, info } satisfies ChainUnhandledEvent);
    return false;
  }
}
