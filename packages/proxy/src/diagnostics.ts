import { channel } from 'node:diagnostics_channel';

/** diagnostics_channel names published by the proxy. */
export const PROXY_CHANNELS = {
  /** `{ message, info, leg, destination }`: a request or response was handed to a leg. */
  forward: 'sipway:proxy:forward',
  /** `{ message, info, code, reason }`: a message was dropped without an answer. */
  drop: 'sipway:proxy:drop',
  /** `{ request, response, info, code }`: the proxy answered a request statelessly. */
  reply: 'sipway:proxy:reply',
} as const;

export const forwardChannel = channel(PROXY_CHANNELS.forward);
export const dropChannel = channel(PROXY_CHANNELS.drop);
export const replyChannel = channel(PROXY_CHANNELS.reply);
